"""`make deploy-web` puts exactly web/ under app/ with the types relay run serves."""

from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from relay_local import web_deploy


def test_the_bucket_holds_exactly_the_web_files_with_their_types(tmp_path: Path) -> None:
    root = tmp_path / "web"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html>")
    (root / "js" / "main.js").write_text("export {};")
    (root / ".hidden").write_text("never served")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="web")
        s3.put_object(Bucket="web", Key="app/js/old.js", Body=b"gone")
        s3.put_object(Bucket="web", Key="elsewhere.txt", Body=b"not ours")

        put, removed = web_deploy.upload(s3, "web", root)

        assert put == ["app/index.html", "app/js/main.js"]
        assert removed == ["app/js/old.js"]
        keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket="web")["Contents"])
        assert keys == ["app/index.html", "app/js/main.js", "elsewhere.txt"]
        script = s3.head_object(Bucket="web", Key="app/js/main.js")
        assert script["ContentType"] == "text/javascript; charset=utf-8"
        assert script["CacheControl"] == "no-cache"


def test_the_repository_web_root_is_what_goes_up() -> None:
    root = Path(__file__).resolve().parents[2] / "web"
    keys = web_deploy.files(root)
    assert "app/index.html" in keys
    assert "app/js/main.js" in keys
