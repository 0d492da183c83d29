#!/usr/bin/python3
"""Virtual-host-style requests and the removal of abandoned multipart
uploads through boto3 (t/s3cfg.sh).  Each line printed is "ok NAME" or
"not ok NAME: why".  S3_NODE is a node's S3 host:port, S3_DOMAIN its
s3_domain, S3_EXPIRY_MS its s3_upload_expiry_ms; AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY the credentials.  Names under S3_DOMAIN resolve to
the node's address inside this process only (no DNS is touched)."""
import os
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import code_of, want  # noqa: E402

host, port = os.environ["S3_NODE"].rsplit(":", 1)
domain = os.environ["S3_DOMAIN"]
expiry = int(os.environ["S3_EXPIRY_MS"]) / 1000.0
real_getaddrinfo = socket.getaddrinfo


def resolve(name, *a, **kw):
    if name == domain or name.endswith("." + domain):
        name = host
    return real_getaddrinfo(name, *a, **kw)


socket.getaddrinfo = resolve

retries = {"max_attempts": 1}
vh = boto3.client("s3", endpoint_url="http://%s:%s" % (domain, port), region_name="us-east-1",
                  config=Config(retries=retries, s3={"addressing_style": "virtual"}))
ps = boto3.client("s3", endpoint_url="http://%s:%s" % (host, port), region_name="us-east-1",
                  config=Config(retries=retries, s3={"addressing_style": "path"}))
hosts = []
vh.meta.events.register("before-send", lambda request, **kw: hosts.append(request.url))


# ---- virtual-host style ----
want("virtual-host CreateBucket", code_of(vh.create_bucket, Bucket="vhost"), "OK")
want("the request went to BUCKET.s3_domain",
     bool(hosts) and hosts[0].startswith("http://vhost.%s:%s/" % (domain, port)), True)
want("path style sees the same bucket", code_of(ps.head_bucket, Bucket="vhost"), "OK")
vh.put_object(Bucket="vhost", Key="dir/a.txt", Body=b"hello, vhost")
want("virtual-host PutObject, path-style GetObject",
     ps.get_object(Bucket="vhost", Key="dir/a.txt")["Body"].read(), b"hello, vhost")
want("virtual-host GetObject", vh.get_object(Bucket="vhost", Key="dir/a.txt")["Body"].read(),
     b"hello, vhost")
want("virtual-host ListObjectsV2",
     [o["Key"] for o in vh.list_objects_v2(Bucket="vhost").get("Contents", [])], ["dir/a.txt"])
want("virtual-host DeleteObject", code_of(vh.delete_object, Bucket="vhost", Key="dir/a.txt"), "OK")
want("virtual-host GetObject of a removed key: NoSuchKey",
     code_of(vh.get_object, Bucket="vhost", Key="dir/a.txt"), "NoSuchKey")

# ---- abandoned multipart uploads ----
old = ps.create_multipart_upload(Bucket="vhost", Key="old.bin")["UploadId"]
ps.upload_part(Bucket="vhost", Key="old.bin", UploadId=old, PartNumber=1, Body=b"x" * 1000)
t0 = time.monotonic()
ids = [u["UploadId"] for u in ps.list_multipart_uploads(Bucket="vhost").get("Uploads", [])]
want("a new upload is listed", old in ids, True)
# A part committed after an Abort had listed its upload outlives the
# marker: made here by removing the marker with the CLI.
orphan = ps.create_multipart_upload(Bucket="vhost", Key="orphan.bin")["UploadId"]
ps.upload_part(Bucket="vhost", Key="orphan.bin", UploadId=orphan, PartNumber=1, Body=b"z" * 1000)
orphan_dir = ".s3/uploads/vhost/%s/" % orphan
subprocess.run([os.environ["RCFS"], "rm", orphan_dir + "upload"], check=True)


def orphan_files():
    out = subprocess.run([os.environ["RCFS"], "ls", orphan_dir], capture_output=True, text=True)
    return out.stdout.strip()


want("a part without its marker is left after the marker's removal", orphan_files() != "", True)
new = ps.create_multipart_upload(Bucket="vhost", Key="new.bin")["UploadId"]
etag = ps.upload_part(Bucket="vhost", Key="new.bin", UploadId=new, PartNumber=1,
                      Body=b"y" * 1000)["ETag"]
ps.complete_multipart_upload(Bucket="vhost", Key="new.bin", UploadId=new,
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
want("an upload completed within the expiry commits its object",
     ps.get_object(Bucket="vhost", Key="new.bin")["Body"].read(), b"y" * 1000)
while time.monotonic() - t0 < expiry + 30:
    ids = [u["UploadId"] for u in ps.list_multipart_uploads(Bucket="vhost").get("Uploads", [])]
    if old not in ids:
        break
    time.sleep(0.2)
gone = time.monotonic() - t0
want("an upload older than s3_upload_expiry_ms is removed", old in ids, False)
want("not before it expired", gone >= expiry * 0.9, True)
want("its parts are gone: ListParts says NoSuchUpload",
     code_of(ps.list_parts, Bucket="vhost", Key="old.bin", UploadId=old), "NoSuchUpload")
while time.monotonic() - t0 < expiry + 30 and orphan_files() != "":
    time.sleep(0.2)
want("parts whose marker is gone are removed once older than the expiry", orphan_files(), "")
print("# removed after %.1f s (expiry %.1f s)" % (gone, expiry))
