use super::*;
use symbolon_p2p::futures::io::Cursor;

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

#[tokio::test]
async fn a_hello_is_read_and_malformed_or_oversized_ones_are_refused_with_why() {
    let hello = serde_json::json!({"session": "urn:uuid:s", "digest": "ab", "from": 2,
                                   "countersignature": "x.y.z"});
    let read = read_hello(&mut Cursor::new(framed(hello.to_string().as_bytes())))
        .await
        .unwrap();
    assert_eq!((read.session.as_str(), read.from), ("urn:uuid:s", 2));

    let oversized = ((MAX_HELLO + 1) as u32).to_be_bytes().to_vec();
    let error = read_hello(&mut Cursor::new(oversized)).await.unwrap_err();
    assert!(error.contains("at most"), "{error}");
    let error = read_hello(&mut Cursor::new(framed(b"{\"session\": 1}")))
        .await
        .unwrap_err();
    assert!(error.contains("malformed"), "{error}");
    let error = read_hello(&mut Cursor::new(vec![0, 0, 0, 9, b'{']))
        .await
        .unwrap_err();
    assert!(error.contains("reading the hello"), "{error}");
}
