//! What only `file://` does: directories, temporary files, keys that cannot be paths.

use futures::TryStreamExt;
use weir_blob::{Error, ObjectMeta};

use crate::file_subject;

#[tokio::test]
async fn a_missing_directory_lists_nothing_and_holds_no_object() {
    let s = file_subject("missing_directory").await;
    let prefix = format!("{}no/such/dir/", s.root);
    let listed: Vec<ObjectMeta> = s.store.list(&prefix, None).try_collect().await.unwrap();
    assert!(listed.is_empty());
    let err = s.store.head(&format!("{prefix}x")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().starts_with("file:///"), "{err}");
}

#[tokio::test]
async fn an_unfinished_upload_is_a_hidden_file_that_abort_and_drop_remove() {
    let s = file_subject("hidden_temp_files").await;
    let dir = std::path::Path::new("/").join(&s.root);
    let files = || std::fs::read_dir(&dir).unwrap().count();
    let mut upload = s.store.writer(&format!("{}a", s.root)).await.unwrap();
    upload
        .write(bytes::Bytes::from_static(b"partial"))
        .await
        .unwrap();
    assert_eq!(
        files(),
        1,
        "the temporary file is in the object's directory"
    );
    let listed: Vec<ObjectMeta> = s.store.list(&s.root, None).try_collect().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    drop(upload);
    assert_eq!(files(), 0, "dropping an upload removes its temporary file");
}

#[tokio::test]
async fn keys_that_would_alias_other_paths_are_refused() {
    let s = file_subject("aliasing_keys").await;
    for key in ["a/../b", "a//b", "./a", "a/"] {
        let err = s
            .store
            .put(&format!("{}{key}", s.root), bytes::Bytes::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidUri { .. }), "{key}: {err}");
    }
}

#[tokio::test]
async fn directories_are_not_objects() {
    let s = file_subject("directories").await;
    s.store
        .put(&format!("{}d/x", s.root), bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    let err = s.store.head(&format!("{}d", s.root)).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_symlink_to_an_ancestor_does_not_loop_a_listing() {
    let s = file_subject("symlink_loop").await;
    let dir = std::path::Path::new("/").join(&s.root);
    s.store
        .put(&format!("{}d/x", s.root), bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("d/up")).unwrap();
    std::os::unix::fs::symlink(dir.join("d/x"), dir.join("d/y")).unwrap();
    let listed: Vec<String> = s
        .store
        .list(&s.root, None)
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![format!("{}d/x", s.root), format!("{}d/y", s.root)]
    );
}
