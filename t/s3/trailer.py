#!/usr/bin/python3
"""Unsigned aws-chunked bodies with a trailing checksum
(STREAMING-UNSIGNED-PAYLOAD-TRAILER), as boto3 sends them over HTTPS: through
the TLS proxy at S3_TLS (socat in front of a node, t/s3.sh), and crafted and
signed with botocore's own signer against the node at S3_ENDPOINT, to see a
wrong or missing trailer refused.  Prints "ok NAME" / "not ok NAME: why"."""
import base64
import binascii
import os
import struct
import sys
import urllib.error
import urllib.request

import boto3
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import want  # noqa: E402

urllib3.disable_warnings()
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, signature_version="s3v4")
tls = boto3.client("s3", endpoint_url="https://" + os.environ["S3_TLS"], region_name="us-east-1",
                   verify=False, config=cfg)
plain = boto3.client("s3", endpoint_url="http://" + os.environ["S3_ENDPOINT"], region_name="us-east-1",
                     config=cfg)
sent = []
tls.meta.events.register("before-send", lambda request, **kw: sent.append(
    {k.lower(): v for k, v in request.headers.items()}))
plain.create_bucket(Bucket="trailer")

body = os.urandom(300000)
crc = base64.b64encode(struct.pack(">I", binascii.crc32(body))).decode()
r = tls.put_object(Bucket="trailer", Key="a", Body=body, ChecksumAlgorithm="CRC32")
want("boto3 over HTTPS sent STREAMING-UNSIGNED-PAYLOAD-TRAILER",
     sent[-1].get("x-amz-content-sha256") in (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                              "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), True)
want("the trailer's CRC-32 is checked and given back", r.get("ChecksumCRC32"), crc)
want("the object is the body, framing removed",
     plain.get_object(Bucket="trailer", Key="a")["Body"].read() == body, True)
want("no aws-chunked Content-Encoding is kept",
     plain.head_object(Bucket="trailer", Key="a").get("ContentEncoding"), None)
up = tls.create_multipart_upload(Bucket="trailer", Key="mp", ChecksumAlgorithm="CRC32")["UploadId"]
part = os.urandom(1 << 20)
p = tls.upload_part(Bucket="trailer", Key="mp", UploadId=up, PartNumber=1, Body=part,
                    ChecksumAlgorithm="CRC32")
tls.complete_multipart_upload(Bucket="trailer", Key="mp", UploadId=up, MultipartUpload={
    "Parts": [{"PartNumber": 1, "ETag": p["ETag"], "ChecksumCRC32": p.get("ChecksumCRC32")}]})
want("UploadPart with a trailer, then Complete",
     plain.get_object(Bucket="trailer", Key="mp")["Body"].read() == part, True)


def crafted(data, trailer):
    """PUT trailer/c with an aws-chunked body of data and the trailer line given."""
    framed = b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(data), data, trailer)
    url = "http://%s/trailer/c" % os.environ["S3_ENDPOINT"]
    req = AWSRequest(method="PUT", url=url, data=framed, headers={
        "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(data))})
    req.context["checksum"] = {"request_algorithm": {"in": "trailer"}}
    creds = boto3.Session().get_credentials()
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    prepared = urllib.request.Request(url, data=framed, method="PUT", headers=dict(req.headers))
    try:
        return urllib.request.urlopen(prepared).status
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return text[text.find("<Code>") + 6:text.find("</Code>")]


good = base64.b64encode(struct.pack(">I", binascii.crc32(b"hello"))).decode().encode()
want("a crafted trailer body with the right CRC-32",
     crafted(b"hello", b"x-amz-checksum-crc32:" + good + b"\r\n"), 200)
want("... with a wrong one: BadDigest", crafted(b"hello", b"x-amz-checksum-crc32:AAAAAA==\r\n"), "BadDigest")
want("... without it: IncompleteBody", crafted(b"hello", b""), "IncompleteBody")
want("a refused body stored nothing", plain.get_object(Bucket="trailer", Key="c")["Body"].read(), b"hello")
