//! Small Parquet files for tests (here and in the end-to-end crate), written with the
//! `parquet` crate's own writer from a schema in Parquet's message syntax: every column that
//! is nullable somewhere is all null (the seed's case), required ones repeat one value.
//! Only with the `testdata` feature.

pub mod counting;
pub mod dbt;

use std::io::Write;
use std::sync::Arc;

use parquet::column::writer::{ColumnWriter, ColumnWriterImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::errors::{ParquetError, Result};
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

/// A Parquet file of `rows` rows of `message` in `row_groups` row groups.
pub fn parquet(message: &str, rows: usize, row_groups: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write(&mut out, message, rows, row_groups)?;
    Ok(out)
}

/// Writes `rows` rows of `message` in `row_groups` row groups to `out`.
pub fn write<W: Write + Send>(out: W, message: &str, rows: usize, row_groups: usize) -> Result<()> {
    let schema = Arc::new(parse_message_type(message)?);
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(out, schema, props)?;
    for _ in 0..row_groups {
        let mut rg = writer.next_row_group()?;
        while let Some(mut col) = rg.next_column()? {
            match col.untyped() {
                ColumnWriter::BoolColumnWriter(w) => leaf(w, rows, Default::default())?,
                ColumnWriter::Int32ColumnWriter(w) => leaf(w, rows, Default::default())?,
                ColumnWriter::Int64ColumnWriter(w) => leaf(w, rows, Default::default())?,
                ColumnWriter::FloatColumnWriter(w) => leaf(w, rows, Default::default())?,
                ColumnWriter::DoubleColumnWriter(w) => leaf(w, rows, Default::default())?,
                ColumnWriter::ByteArrayColumnWriter(w) => leaf(w, rows, ByteArray::from("id"))?,
                _ => {
                    return Err(ParquetError::General(
                        "testdata writes no INT96 or fixed-length columns".to_owned(),
                    ));
                }
            }
            col.close()?;
        }
        rg.close()?;
    }
    writer.close()?;
    Ok(())
}

/// Writes `rows` nulls where the column is nullable, else `rows` copies of `value`.
fn leaf<T: DataType>(w: &mut ColumnWriterImpl<'_, T>, rows: usize, value: T::T) -> Result<()> {
    let descr = w.get_descriptor().clone();
    let rep = (descr.max_rep_level() > 0).then(|| vec![0i16; rows]);
    if descr.max_def_level() > 0 {
        // All null at the top: no values, every definition level 0.
        let def = vec![0i16; rows];
        w.write_batch(&[], Some(&def), rep.as_deref())?;
    } else {
        let values = vec![value; rows];
        w.write_batch(&values, None, rep.as_deref())?;
    }
    Ok(())
}

/// A schema with `n` nullable INT64 columns with long names: its footer outgrows the first
/// read once `n` is in the thousands.
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
