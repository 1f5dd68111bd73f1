//! Writes small Parquet files from a schema in Parquet's message syntax: every column nullable
//! somewhere is all null (the seed's case), required ones hold default values.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::column::writer::{ColumnWriter, ColumnWriterImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The seed's case: `price` is all null, written as INT64 by one writer and DOUBLE by another.
pub const PRICE_INT64: &str =
    "message spark_schema { required binary id (STRING); optional int64 price; }";
/// The same data from a writer that got the type right.
pub const PRICE_DOUBLE: &str =
    "message spark_schema { required binary id (STRING); optional double price; }";
/// Like [`PRICE_DOUBLE`] but `id` is nullable.
pub const ID_NULLABLE: &str =
    "message spark_schema { optional binary id (STRING); optional double price; }";
/// Nested fields: a struct and a list.
pub const NESTED: &str = "message spark_schema {
    required binary id (STRING);
    optional group address { optional binary city (STRING); optional int32 zip; }
    optional group tags (LIST) { repeated group list { optional binary element (STRING); } }
}";
/// [`NESTED`] with the struct's `zip` as INT64.
pub const NESTED_ZIP64: &str = "message spark_schema {
    required binary id (STRING);
    optional group address { optional binary city (STRING); optional int64 zip; }
    optional group tags (LIST) { repeated group list { optional binary element (STRING); } }
}";

/// Writes `rows` rows of `message` to `path` in `row_groups` row groups.
pub fn write(path: &Path, message: &str, rows: usize, row_groups: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(parse_message_type(message).unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    for _ in 0..row_groups {
        let mut rg = writer.next_row_group().unwrap();
        while let Some(mut col) = rg.next_column().unwrap() {
            match col.untyped() {
                ColumnWriter::BoolColumnWriter(w) => leaf(w, rows, Default::default()),
                ColumnWriter::Int32ColumnWriter(w) => leaf(w, rows, Default::default()),
                ColumnWriter::Int64ColumnWriter(w) => leaf(w, rows, Default::default()),
                ColumnWriter::FloatColumnWriter(w) => leaf(w, rows, Default::default()),
                ColumnWriter::DoubleColumnWriter(w) => leaf(w, rows, Default::default()),
                ColumnWriter::ByteArrayColumnWriter(w) => leaf(w, rows, ByteArray::from("id")),
                _ => panic!("the tests write no such column"),
            }
            col.close().unwrap();
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

/// Writes `rows` nulls where the column is nullable, else `rows` copies of `value`.
fn leaf<T: DataType>(w: &mut ColumnWriterImpl<'_, T>, rows: usize, value: T::T) {
    let descr = w.get_descriptor().clone();
    let rep = (descr.max_rep_level() > 0).then(|| vec![0i16; rows]);
    if descr.max_def_level() > 0 {
        // All null at the top: no values, every definition level 0.
        let def = vec![0i16; rows];
        w.write_batch(&[], Some(&def), rep.as_deref()).unwrap();
    } else {
        let values = vec![value; rows];
        w.write_batch(&values, None, rep.as_deref()).unwrap();
    }
}

/// A schema with `n` nullable INT64 columns with long names: its footer is larger than the
/// first read.
pub fn wide(n: usize) -> String {
    let mut message = String::from("message wide {");
    for i in 0..n {
        message.push_str(&format!(
            " optional int64 a_rather_long_column_name_so_the_footer_grows_{i:05};"
        ));
    }
    message.push('}');
    message
}
