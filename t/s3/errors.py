#!/usr/bin/python3
"""S3 error cases through boto3 (t/s3.sh): each line printed is "ok NAME" or
"not ok NAME: why"; the caller counts them.  Endpoint, key id and secret
come from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY)."""
import base64
import binascii
import hashlib
import os
import struct
import sys

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import code_of, want  # noqa: E402

ep = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


s3.create_bucket(Bucket="errs")
s3.put_object(Bucket="errs", Key="k", Body=b"0123456789")
want("get of a missing key: NoSuchKey",
     code_of(s3.get_object, Bucket="errs", Key="missing"), "NoSuchKey")
want("list of a missing bucket: NoSuchBucket",
     code_of(s3.list_objects_v2, Bucket="nosuchbucket"), "NoSuchBucket")
want("put into a missing bucket: NoSuchBucket",
     code_of(s3.put_object, Bucket="nosuchbucket", Key="a", Body=b"x"), "NoSuchBucket")
want("delete of a bucket with objects: BucketNotEmpty",
     code_of(s3.delete_bucket, Bucket="errs"), "BucketNotEmpty")
want("a range past the end: InvalidRange",
     code_of(s3.get_object, Bucket="errs", Key="k", Range="bytes=100-200"), "InvalidRange")
want("If-Match with another ETag: PreconditionFailed",
     code_of(s3.get_object, Bucket="errs", Key="k", IfMatch='"0000"'), "PreconditionFailed")
r = s3.get_object(Bucket="errs", Key="k", Range="bytes=2-4")
want("a range reads those bytes", r["Body"].read(), b"234")
want("Content-Range of a range", r["ContentRange"], "bytes 2-4/10")
want("a wrong Content-MD5: BadDigest",
     code_of(s3.put_object, Bucket="errs", Key="k2", Body=b"abc", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="),
     "BadDigest")
want("an invalid bucket name: InvalidBucketName",
     code_of(s3.create_bucket, Bucket="Bad_Name"), "InvalidBucketName")
up = s3.create_multipart_upload(Bucket="errs", Key="mp")
want("completing with a part never uploaded: InvalidPart",
     code_of(s3.complete_multipart_upload, Bucket="errs", Key="mp", UploadId=up["UploadId"],
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]}), "InvalidPart")
want("a part of an unknown upload: NoSuchUpload",
     code_of(s3.upload_part, Bucket="errs", Key="mp", UploadId="0" * 32, PartNumber=1, Body=b"x"),
     "NoSuchUpload")
s3.abort_multipart_upload(Bucket="errs", Key="mp", UploadId=up["UploadId"])
want("an aborted upload is gone: NoSuchUpload",
     code_of(s3.list_parts, Bucket="errs", Key="mp", UploadId=up["UploadId"]), "NoSuchUpload")
s3.put_object(Bucket="errs", Key="meta", Body=b"m", ContentType="text/plain",
              Metadata={"colour": "blue"})
h = s3.head_object(Bucket="errs", Key="meta")
want("Content-Type comes back", h["ContentType"], "text/plain")
want("user metadata comes back", h["Metadata"].get("colour"), "blue")
c = s3.copy_object(Bucket="errs", Key="copy", CopySource={"Bucket": "errs", "Key": "k"})
want("CopyObject keeps the ETag", c["CopyObjectResult"]["ETag"],
     s3.head_object(Bucket="errs", Key="k")["ETag"])
want("the copy reads back", s3.get_object(Bucket="errs", Key="copy")["Body"].read(), b"0123456789")
keys = ["d/%d" % i for i in range(5)]
for k in keys:
    s3.put_object(Bucket="errs", Key=k, Body=b"x")
p = s3.list_objects_v2(Bucket="errs", Prefix="d/", MaxKeys=2)
want("max-keys pages: first page truncated", (p["KeyCount"], p["IsTruncated"]), (2, True))
seen = [o["Key"] for o in p["Contents"]]
while p["IsTruncated"]:
    p = s3.list_objects_v2(Bucket="errs", Prefix="d/", MaxKeys=2,
                           ContinuationToken=p["NextContinuationToken"])
    seen += [o["Key"] for o in p.get("Contents", [])]
want("continuation tokens list every key once", seen, keys)
p = s3.list_objects_v2(Bucket="errs", Delimiter="/")
want("delimiter: common prefixes", [c["Prefix"] for c in p.get("CommonPrefixes", [])], ["d/"])
d = s3.delete_objects(Bucket="errs", Delete={"Objects": [{"Key": k} for k in keys + ["nokey"]]})
want("DeleteObjects deletes each (a missing key too)", sorted(x["Key"] for x in d["Deleted"]),
     sorted(keys + ["nokey"]))
body = b"checked " * 1000
b64 = lambda d: base64.b64encode(d).decode()
for alg, field, value in (("CRC32", "ChecksumCRC32", b64(struct.pack(">I", binascii.crc32(body)))),
                          ("SHA1", "ChecksumSHA1", b64(hashlib.sha1(body).digest())),
                          ("SHA256", "ChecksumSHA256", b64(hashlib.sha256(body).digest()))):
    r = s3.put_object(Bucket="errs", Key="ck", Body=body, ChecksumAlgorithm=alg)
    want("x-amz-checksum-%s is checked and given back" % alg.lower(), r.get(field), value)
want("a wrong x-amz-checksum-crc32: BadDigest",
     code_of(s3.put_object, Bucket="errs", Key="ck", Body=body, ChecksumCRC32="AAAAAA=="),
     "BadDigest")
want("a wrong x-amz-checksum-sha256: BadDigest",
     code_of(s3.put_object, Bucket="errs", Key="ck", Body=body,
             ChecksumSHA256="FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="), "BadDigest")
sys.exit(0)
