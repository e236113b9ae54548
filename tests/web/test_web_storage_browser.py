"""/settings/storage in headless Chromium against `gigforge serve` whose storage is S3 with
SSE-KMS on moto (a real S3 server on a loopback port, started here). Set
GIGFORGE_SCREENSHOTS=docs/screenshots to refresh docs/screenshots/storage.png."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_browser import (
    _assert_accessible,
    _browser_page,
    _register,
    _shots,
    _sign_in,
    sync_api,
)

from serving import Server, free_port, serving

moto_server = pytest.importorskip("moto.server", reason="needs moto in server mode (dev extra)")
boto3 = pytest.importorskip("boto3", reason="needs boto3 (the s3 extra)")

CREDENTIALS = {"aws_access_key_id": "AKIDGIGFORGETEST", "aws_secret_access_key": "moto-secret"}


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    moto = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1", **CREDENTIALS)
        bucket = f"gigforge-deliverables-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        kms = boto3.client("kms", endpoint_url=endpoint, region_name="eu-west-1", **CREDENTIALS)
        key_arn = kms.create_key(Description="Gigforge deliverables")["KeyMetadata"]["Arn"]
        with serving(
            tmp_path,
            "--sandbox",
            EMBEDDED_WORKER="false",
            STORAGE_BACKEND="s3",
            STORAGE_BUCKET=bucket,
            STORAGE_REGION="eu-west-1",
            STORAGE_ENDPOINT_URL=endpoint,
            STORAGE_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
            STORAGE_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
            STORAGE_ENCRYPTION="sse-kms",
            STORAGE_KMS_KEY_ID=key_arn,
            STORAGE_PREFIX="gigforge",
        ) as served:
            yield served
    finally:
        moto.stop()


def test_an_admin_tests_s3_storage_from_the_settings_in_chromium(
    s3_server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(s3_server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, s3_server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="File storage").click()
        sync_api.expect(page.get_by_role("heading", name="File storage", level=1)).to_be_visible()
        sync_api.expect(page.get_by_text("Amazon S3 (or an S3-compatible server)")).to_be_visible()
        sync_api.expect(page.get_by_text("SSE-KMS with arn:aws:kms:")).to_be_visible()
        _assert_accessible(page)

        page.get_by_role("button", name="Test storage").click()
        sync_api.expect(page.get_by_role("status")).to_contain_text(
            "Storage works: every step passed. Versioning is on."
        )
        steps = page.get_by_role("list", name="Test steps").get_by_role("listitem")
        sync_api.expect(steps).to_have_count(5)
        sync_api.expect(page.get_by_text("the signed URL downloads the object")).to_be_visible()
        page.screenshot(path=str(shots / "storage.png"), full_page=True)
        _assert_accessible(page)

        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _assert_accessible(page)
    assert errors == []
