#!/usr/bin/python3
"""S3 error cases through boto3 (t/s3.sh): each line printed is "ok NAME" or
"not ok NAME: why"; the caller counts them.  Endpoint, key id and secret
come from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY)."""
import base64
import binascii
import concurrent.futures
import datetime
import hashlib
import os
import struct
import sys
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import code_of, want  # noqa: E402

ep = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                                signature_version="s3v4"))


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
    # botocore checks a checksum it gets back against the bytes it reads
    g = s3.get_object(Bucket="errs", Key="ck", ChecksumMode="ENABLED")
    want("x-amz-checksum-%s is stored: GET with ChecksumMode ENABLED gets it" % alg.lower(),
         (g.get(field), g["Body"].read() == body), (value, True))
want("HEAD with ChecksumMode ENABLED gets it too",
     s3.head_object(Bucket="errs", Key="ck", ChecksumMode="ENABLED").get("ChecksumSHA256"),
     b64(hashlib.sha256(body).digest()))
want("... not without ChecksumMode, nor for a range",
     (s3.get_object(Bucket="errs", Key="ck").get("ChecksumSHA256"),
      s3.get_object(Bucket="errs", Key="ck", Range="bytes=0-9", ChecksumMode="ENABLED").get("ChecksumSHA256")),
     (None, None))
s3.copy_object(Bucket="errs", Key="ck2", CopySource={"Bucket": "errs", "Key": "ck"},
               MetadataDirective="REPLACE", ContentType="text/plain")
want("a copy with new metadata keeps the checksum (same bytes)",
     s3.head_object(Bucket="errs", Key="ck2", ChecksumMode="ENABLED").get("ChecksumSHA256"),
     b64(hashlib.sha256(body).digest()))
want("a wrong x-amz-checksum-crc32: BadDigest",
     code_of(s3.put_object, Bucket="errs", Key="ck", Body=body, ChecksumCRC32="AAAAAA=="),
     "BadDigest")
want("a wrong x-amz-checksum-sha256: BadDigest",
     code_of(s3.put_object, Bucket="errs", Key="ck", Body=body,
             ChecksumSHA256="FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="), "BadDigest")
# ---- what a signature covers ----
def add_unsigned_header(request, **kw):
    request.headers["x-amz-meta-added"] = "after signing"


s3.meta.events.register("before-send.s3.PutObject", add_unsigned_header)
want("an x-amz-* header that is not signed: AccessDenied",
     code_of(s3.put_object, Bucket="errs", Key="unsigned", Body=b"x"), "AccessDenied")
s3.meta.events.unregister("before-send.s3.PutObject", add_unsigned_header)
s3.put_object(Bucket="errs", Key="keep", Body=b"x")


def swap_body(request, **kw):
    request.body = request.body.replace(b"<Key>othr</Key>", b"<Key>keep</Key>")


s3.meta.events.register("before-send.s3.DeleteObjects", swap_body)
want("a signed POST ?delete with another body: XAmzContentSHA256Mismatch",
     code_of(s3.delete_objects, Bucket="errs", Delete={"Objects": [{"Key": "othr"}]}),
     "XAmzContentSHA256Mismatch")
s3.meta.events.unregister("before-send.s3.DeleteObjects", swap_body)
want("... and the key it named is still there",
     s3.get_object(Bucket="errs", Key="keep")["Body"].read(), b"x")


def add_x_id(request, **kw):
    sep = "&" if "?" in request.url else "?"
    request.url += sep + "x-id=" + kw["event_name"].rsplit(".", 1)[-1]


s3.meta.events.register("before-sign.s3.PutObject", add_x_id)
s3.meta.events.register("before-sign.s3.DeleteObject", add_x_id)
want("PutObject with ?x-id=PutObject (as the JS, Go and Rust SDKs send it)",
     code_of(s3.put_object, Bucket="errs", Key="xid", Body=b"x"), "OK")
want("DeleteObject with ?x-id=DeleteObject", code_of(s3.delete_object, Bucket="errs", Key="xid"), "OK")
s3.meta.events.unregister("before-sign.s3.PutObject", add_x_id)
s3.meta.events.unregister("before-sign.s3.DeleteObject", add_x_id)
url = s3.generate_presigned_url("put_object", Params={"Bucket": "errs", "Key": "presigned"})
req = urllib.request.Request(url, data=b"through a presigned PUT", method="PUT")
want("a presigned PUT stores the body", urllib.request.urlopen(req).status, 200)
want("... which reads back", s3.get_object(Bucket="errs", Key="presigned")["Body"].read(),
     b"through a presigned PUT")
url = s3.generate_presigned_url("get_object", Params={"Bucket": "errs", "Key": "presigned",
                                                      "ResponseContentType": "text/x-rcfs"})
want("a presigned GET's response-content-type",
     urllib.request.urlopen(url).headers.get("Content-Type"), "text/x-rcfs")
url = s3.generate_presigned_url("delete_object", Params={"Bucket": "errs", "Key": "presigned"})
want("a presigned DELETE", urllib.request.urlopen(urllib.request.Request(url, method="DELETE")).status,
     204)
want("GET ?torrent is NotImplemented, not the object",
     code_of(s3.get_object_torrent, Bucket="errs", Key="keep"), "NotImplemented")
want("GetObjectTagging: an empty tag set (rcfs keeps no tags)",
     s3.get_object_tagging(Bucket="errs", Key="keep")["TagSet"], [])
want("PutObjectTagging: NotImplemented",
     code_of(s3.put_object_tagging, Bucket="errs", Key="keep",
             Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}), "NotImplemented")
want("GetObjectAcl: the owner's FULL_CONTROL (rcfs has no ACLs)",
     [g["Permission"] for g in s3.get_object_acl(Bucket="errs", Key="keep")["Grants"]], ["FULL_CONTROL"])
want("GetObjectAcl of a missing key: NoSuchKey",
     code_of(s3.get_object_acl, Bucket="errs", Key="nokey"), "NoSuchKey")
want("PutObjectAcl public-read: NotImplemented, never a silent no-op",
     code_of(s3.put_object_acl, Bucket="errs", Key="keep", ACL="public-read"), "NotImplemented")


def if_none_match(request, **kw):
    request.headers["If-None-Match"] = "*"


s3.meta.events.register("before-sign.s3.PutObject", if_none_match)
want("PutObject with If-None-Match is NotImplemented, not a silent overwrite",
     code_of(s3.put_object, Bucket="errs", Key="keep", Body=b"y"), "NotImplemented")
s3.meta.events.unregister("before-sign.s3.PutObject", if_none_match)
want("... and the object is unchanged", s3.get_object(Bucket="errs", Key="keep")["Body"].read(), b"x")
want("CopyObject into a missing bucket: NoSuchBucket",
     code_of(s3.copy_object, Bucket="nosuchbucket", Key="c", CopySource={"Bucket": "errs", "Key": "keep"}),
     "NoSuchBucket")
want("CreateMultipartUpload of a key rcfs cannot name: InvalidArgument at once",
     code_of(s3.create_multipart_upload, Bucket="errs", Key="a/../b"), "InvalidArgument")

# ---- Signature Version 2 presigned URLs (boto3 < 1.36's default for S3) ----
v2 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3"))
url = v2.generate_presigned_url("get_object", Params={"Bucket": "errs", "Key": "keep"})
want("a V2 presigned URL is V2", "AWSAccessKeyId=" in url and "X-Amz-" not in url, True)
want("a V2 presigned GET reads the object", urllib.request.urlopen(url).read(), b"x")
try:
    urllib.request.urlopen(url.replace("Signature=", "Signature=A"))
    got = 200
except urllib.error.HTTPError as e:
    got = e.code
want("a V2 presigned URL with another signature: 403", got, 403)
url = v2.generate_presigned_url("get_object", Params={"Bucket": "errs", "Key": "keep"}, ExpiresIn=-10)
try:
    urllib.request.urlopen(url)
    got = 200
except urllib.error.HTTPError as e:
    got = e.code
want("an expired V2 presigned URL: 403", got, 403)

# ---- UploadPartCopy ----
src = os.urandom(3 << 20)
s3.put_object(Bucket="errs", Key="src", Body=src)
up = s3.create_multipart_upload(Bucket="errs", Key="pc")["UploadId"]
src_etag = s3.head_object(Bucket="errs", Key="src")["ETag"]
# s3transfer (0.17 and later) sends CopySourceIfMatch with every part it
# copies, so `aws s3 cp s3://b/big s3://b/copy` depends on these.
p1 = s3.upload_part_copy(Bucket="errs", Key="pc", UploadId=up, PartNumber=1,
                         CopySource={"Bucket": "errs", "Key": "src"}, CopySourceIfMatch=src_etag,
                         CopySourceRange="bytes=%d-%d" % (1 << 20, (3 << 20) - 1))
want("UploadPartCopy with CopySourceIfMatch of another ETag: PreconditionFailed",
     code_of(s3.upload_part_copy, Bucket="errs", Key="pc", UploadId=up, PartNumber=3,
             CopySource={"Bucket": "errs", "Key": "src"}, CopySourceIfMatch='"0000"'),
     "PreconditionFailed")
want("CopyObject with CopySourceIfNoneMatch of the source's ETag: PreconditionFailed",
     code_of(s3.copy_object, Bucket="errs", Key="cond", CopySource={"Bucket": "errs", "Key": "src"},
             CopySourceIfNoneMatch=src_etag), "PreconditionFailed")
want("CopyObject with CopySourceIfModifiedSince in the future: PreconditionFailed",
     code_of(s3.copy_object, Bucket="errs", Key="cond", CopySource={"Bucket": "errs", "Key": "src"},
             CopySourceIfModifiedSince=datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)),
     "PreconditionFailed")
want("CopyObject with CopySourceIfUnmodifiedSince in the past: PreconditionFailed",
     code_of(s3.copy_object, Bucket="errs", Key="cond", CopySource={"Bucket": "errs", "Key": "src"},
             CopySourceIfUnmodifiedSince=datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)),
     "PreconditionFailed")
want("a refused conditional copy wrote nothing", code_of(s3.head_object, Bucket="errs", Key="cond"),
     "404")
s3.copy_object(Bucket="errs", Key="cond", CopySource={"Bucket": "errs", "Key": "src"},
               CopySourceIfMatch=src_etag,
               CopySourceIfUnmodifiedSince=datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc))
want("CopyObject whose conditions hold copies",
     s3.get_object(Bucket="errs", Key="cond")["Body"].read() == src, True)
p2 = s3.upload_part(Bucket="errs", Key="pc", UploadId=up, PartNumber=2, Body=b"tail")
want("UploadPartCopy of a range off the chunk boundaries: NotImplemented",
     code_of(s3.upload_part_copy, Bucket="errs", Key="pc", UploadId=up, PartNumber=3,
             CopySource={"Bucket": "errs", "Key": "src"}, CopySourceRange="bytes=1-1048576"),
     "NotImplemented")
s3.complete_multipart_upload(Bucket="errs", Key="pc", UploadId=up, MultipartUpload={"Parts": [
    {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
want("UploadPartCopy: the object is the copied range, then the uploaded part",
     s3.get_object(Bucket="errs", Key="pc")["Body"].read() == src[1 << 20:] + b"tail", True)

# ---- uploads behind thousands of parts are listed ----
big = s3.create_multipart_upload(Bucket="errs", Key="many-parts")["UploadId"]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda n: s3.upload_part(Bucket="errs", Key="many-parts", UploadId=big, PartNumber=n,
                                           Body=b"p"), range(1, 1102)))
after = s3.create_multipart_upload(Bucket="errs", Key="z-after")["UploadId"]
ids = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="errs").get("Uploads", [])]
want("ListMultipartUploads past an upload of 1,101 parts", (big in ids, after in ids), (True, True))
page = s3.list_multipart_uploads(Bucket="errs", MaxUploads=1)
want("ListMultipartUploads MaxUploads=1: one upload, truncated, with the next markers",
     (len(page.get("Uploads", [])), page["IsTruncated"], bool(page.get("NextUploadIdMarker"))),
     (1, True, True))
paged = [u["UploadId"] for p in s3.get_paginator("list_multipart_uploads").paginate(
    Bucket="errs", PaginationConfig={"PageSize": 1}) for u in p.get("Uploads", [])]
want("ListMultipartUploads paged one at a time lists each upload once",
     (sorted(paged) == sorted(set(paged)), big in paged, after in paged), (True, True, True))
want("ListMultipartUploads KeyMarker: only keys after it",
     [u["Key"] for u in s3.list_multipart_uploads(Bucket="errs", KeyMarker="many-parts").get("Uploads", [])],
     ["z-after"])
parts = [{"PartNumber": n, "ETag": '"%s"' % hashlib.md5(b"p").hexdigest()} for n in range(1, 1102)]
want("Complete of 1,101 parts of one byte: InvalidPart (every part but the last must be whole chunks)",
     code_of(s3.complete_multipart_upload, Bucket="errs", Key="many-parts", UploadId=big,
             MultipartUpload={"Parts": parts}), "InvalidPart")
parts[700]["ETag"] = '"%s"' % hashlib.md5(b"q").hexdigest()
want("Complete listing part 2 twice: InvalidPartOrder, and the node lives",
     code_of(s3.complete_multipart_upload, Bucket="errs", Key="many-parts", UploadId=big,
             MultipartUpload={"Parts": parts[:2] + parts[1:3]}), "InvalidPartOrder")
want("Complete with a part number past 10,000 after a good one: InvalidPart",
     code_of(s3.complete_multipart_upload, Bucket="errs", Key="many-parts", UploadId=big,
             MultipartUpload={"Parts": parts[:1] + [{"PartNumber": 10001, "ETag": parts[0]["ETag"]}]}),
     "InvalidPart")
want("Complete naming part 701 with another ETag: InvalidPart",
     code_of(s3.complete_multipart_upload, Bucket="errs", Key="many-parts", UploadId=big,
             MultipartUpload={"Parts": parts}), "InvalidPart")
for k, u in (("many-parts", big), ("z-after", after)):
    s3.abort_multipart_upload(Bucket="errs", Key=k, UploadId=u)

# ---- ListMultipartUploads in key order, paged by key-marker alone ----
keyed = {k: s3.create_multipart_upload(Bucket="errs", Key=k)["UploadId"]
         for k in ("km-e", "km-a", "km-d", "km-b", "km-c", "km-f")}
want("ListMultipartUploads lists in key order",
     [u["Key"] for u in s3.list_multipart_uploads(Bucket="errs", Prefix="km-")["Uploads"]],
     sorted(keyed))
seen, marker = [], ""
for _ in range(10):
    page = s3.list_multipart_uploads(Bucket="errs", Prefix="km-", MaxUploads=2, KeyMarker=marker)
    seen += [u["Key"] for u in page.get("Uploads", [])]
    if not page["IsTruncated"]:
        break
    marker = page["NextKeyMarker"]
want("ListMultipartUploads paged by KeyMarker alone skips no upload", seen, sorted(keyed))
two = s3.create_multipart_upload(Bucket="errs", Key="km-c")["UploadId"]
want("ListMultipartUploads: one key's uploads in the order they were initiated",
     [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="errs", Prefix="km-c")["Uploads"]],
     [keyed["km-c"], two])
page = s3.list_multipart_uploads(Bucket="errs", KeyMarker="km-c", UploadIdMarker=keyed["km-c"])
want("ListMultipartUploads with UploadIdMarker: that key's later uploads, then later keys",
     [(u["Key"], u["UploadId"]) for u in page["Uploads"]],
     [("km-c", two), ("km-d", keyed["km-d"]), ("km-e", keyed["km-e"]), ("km-f", keyed["km-f"])])
page = s3.list_multipart_uploads(Bucket="errs", KeyMarker="km-c", UploadIdMarker=two)
want("... after the key's last upload: the later keys only",
     [u["Key"] for u in page["Uploads"]], ["km-d", "km-e", "km-f"])
page = s3.list_multipart_uploads(Bucket="errs", Prefix="km-", MaxUploads=0)
want("ListMultipartUploads MaxUploads=0: no upload, and not truncated (no marker to go on from)",
     (len(page.get("Uploads", [])), page["IsTruncated"]), (0, False))
for k, u in list(keyed.items()) + [("km-c", two)]:
    s3.abort_multipart_upload(Bucket="errs", Key=k, UploadId=u)

# ---- a Complete of more parts than one window of stats (32) ----
mib = os.urandom(1 << 20)   # the same chunk in every part: stored once
up = s3.create_multipart_upload(Bucket="errs", Key="forty")["UploadId"]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    etags = list(pool.map(lambda n: s3.upload_part(Bucket="errs", Key="forty", UploadId=up, PartNumber=n,
                                                   Body=mib if n < 41 else b"end")["ETag"], range(1, 42)))
done = s3.complete_multipart_upload(Bucket="errs", Key="forty", UploadId=up, MultipartUpload={
    "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
want("Complete of 41 parts: the multipart ETag names 41 parts", done["ETag"].strip('"').endswith("-41"), True)
want("Complete of 41 parts: the object is the parts in order",
     s3.get_object(Bucket="errs", Key="forty")["Body"].read() == mib * 40 + b"end", True)
sys.exit(0)
