from billing_pipeline.lib.alert.signature import sign, verify_signature

BODY = b'{"alert_key":"abc","kind":"quota"}'


def test_a_signature_verifies_for_its_body_and_secret_within_the_tolerance():
    header = sign("s3cret", BODY, timestamp=1_770_000_000)
    assert verify_signature("s3cret", header, BODY, now=1_770_000_100)
    assert verify_signature("s3cret", f"{header},v1=deadbeef", BODY, now=1_770_000_000)  # rotation: any v1 may match


def test_a_tampered_body_a_wrong_secret_a_stale_timestamp_or_a_malformed_header_is_refused():
    header = sign("s3cret", BODY, timestamp=1_770_000_000)
    assert not verify_signature("s3cret", header, BODY.replace(b"quota", b"anomaly"), now=1_770_000_000)
    assert not verify_signature("other", header, BODY, now=1_770_000_000)
    assert not verify_signature("s3cret", header, BODY, tolerance=300, now=1_770_000_301)
    assert not verify_signature("s3cret", header.split(",")[1], BODY, now=1_770_000_000)
    assert not verify_signature("s3cret", "", BODY)
