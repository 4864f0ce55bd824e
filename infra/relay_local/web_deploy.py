"""`make deploy-web`: the browser client's files from web/ to the stack's WebBucket, under
app/, then a CloudFront invalidation of /app/*. Run after `sam deploy` (and after any
change under web/); docs/decisions.md, "The browser client", says why a deploy step
and not a custom resource.

Each file goes up with the type `relay run` serves it with and `Cache-Control: no-cache`
(browsers revalidate by ETag: there is no build step to give files hashed names), and
files no longer under web/ are removed, so the bucket holds exactly web/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from relay_local.gateways.web import content_type

PREFIX = "app/"
CACHE_CONTROL = "no-cache"


def files(root: Path) -> dict[str, Path]:
    """Every file under `root` that relay run would serve, by its key in the bucket."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found[PREFIX + relative.as_posix()] = path
    return found


def upload(s3: Any, bucket: str, root: Path) -> tuple[list[str], list[str]]:
    """Put web/ under app/ and remove what is gone; the keys put and the keys removed."""
    wanted = files(root)
    for key, path in wanted.items():
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type(path),
            CacheControl=CACHE_CONTROL,
        )
    stale: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        stale.extend(item["Key"] for item in page.get("Contents", []) if item["Key"] not in wanted)
    for start in range(0, len(stale), 1000):
        chunk = [{"Key": key} for key in stale[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return sorted(wanted), stale


def outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy-web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default="relay-dev", help="the stack sam deployed")
    parser.add_argument("--web", type=Path, default=Path("web"), help="the files (web/)")
    parser.add_argument("--region", default=None, help="the stack's region (default: AWS's)")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    found = outputs(session.client("cloudformation"), args.stack_name)
    missing = [name for name in ("WebBucketName", "WebDistributionId") if name not in found]
    if missing:
        sys.stderr.write(f"deploy-web: stack {args.stack_name} has no {', '.join(missing)}\n")
        return 1
    put, removed = upload(session.client("s3"), found["WebBucketName"], args.web)
    session.client("cloudfront").create_invalidation(
        DistributionId=found["WebDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [f"/{PREFIX}*"]},
            "CallerReference": f"relay-web-{time.time_ns()}",
        },
    )
    summary = f"{len(put)} files put, {len(removed)} removed; {found.get('WebUrl', '')}"
    sys.stdout.write(f"deploy-web: {summary}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
