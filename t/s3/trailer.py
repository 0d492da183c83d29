#!/usr/bin/python3
"""Unsigned aws-chunked bodies with a trailing checksum
(STREAMING-UNSIGNED-PAYLOAD-TRAILER), as boto3 sends them over HTTPS: through
the TLS proxy at S3_TLS (socat in front of a node, t/s3.sh), and crafted and
signed with botocore's own signer against the node at S3_ENDPOINT, to see a
wrong or missing trailer refused.  Then signed ones
(STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, what the Go and Java SDKs send
over plain HTTP), each chunk and the trailer signed here in the chain that
starts from botocore's seed signature.  Prints "ok NAME" / "not ok NAME: why"."""
import base64
import binascii
import hashlib
import hmac
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
plain = boto3.client("s3", endpoint_url="http://" + os.environ["S3_ENDPOINT"], region_name="us-east-1",
                     config=cfg)
plain.create_bucket(Bucket="trailer")


def tls_cases():
    """boto3 over HTTPS, through the proxy at S3_TLS."""
    tls = boto3.client("s3", endpoint_url="https://" + os.environ["S3_TLS"], region_name="us-east-1",
                       verify=False, config=cfg)
    sent = []
    tls.meta.events.register("before-send", lambda request, **kw: sent.append(
        {k.lower(): v for k, v in request.headers.items()}))

    body = os.urandom(300000)
    crc = base64.b64encode(struct.pack(">I", binascii.crc32(body))).decode()
    r = tls.put_object(Bucket="trailer", Key="a", Body=body, ChecksumAlgorithm="CRC32")
    want("boto3 over HTTPS sent STREAMING-UNSIGNED-PAYLOAD-TRAILER",
         sent[-1].get("x-amz-content-sha256") in (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                                  "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), True)
    want("the trailer's CRC-32 is checked and given back", r.get("ChecksumCRC32"), crc)
    want("the object is the body, framing removed",
         plain.get_object(Bucket="trailer", Key="a")["Body"].read() == body, True)
    want("the trailer's CRC-32 is stored (GET with ChecksumMode ENABLED)",
         plain.get_object(Bucket="trailer", Key="a", ChecksumMode="ENABLED").get("ChecksumCRC32"), crc)
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


if os.environ.get("S3_TLS"):
    tls_cases()


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


class StreamingTrailerAuth(S3SigV4Auth):
    """botocore's signer, with the signed streaming trailer payload mode."""
    def _modify_request_before_signing(self, request):
        super()._modify_request_before_signing(request)
        del request.headers["X-Amz-Content-SHA256"]
        request.headers["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def signed_trailer(data, bad=""):
    """PUT trailer/s with data in signed 64 KiB chunks and a signed CRC-32
    trailer; bad spoils one part ("checksum", "signature", "nosig")."""
    url = "http://%s/trailer/s" % os.environ["S3_ENDPOINT"]
    req = AWSRequest(method="PUT", url=url, data=b"", headers={
        "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(data))})
    creds = boto3.Session().get_credentials()
    StreamingTrailerAuth(creds, "s3", "us-east-1").add_auth(req)
    ts = req.headers["X-Amz-Date"]
    scope = ts[:8] + "/us-east-1/s3/aws4_request"
    key = ("AWS4" + creds.secret_key).encode()
    for part in (ts[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()

    def sign(alg, prev, tail):
        return hmac.new(key, "\n".join([alg, ts, scope, prev, tail]).encode(), hashlib.sha256).hexdigest()

    empty = hashlib.sha256(b"").hexdigest()
    prev = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    wire = b""
    for chunk in [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]:
        prev = sign("AWS4-HMAC-SHA256-PAYLOAD", prev, empty + "\n" + hashlib.sha256(chunk).hexdigest())
        wire += b"%x;chunk-signature=%s\r\n" % (len(chunk), prev.encode())
        if chunk:
            wire += chunk + b"\r\n"
    crc = base64.b64encode(struct.pack(">I", binascii.crc32(data))).decode()
    trailer = "x-amz-checksum-crc32:" + ("AAAAAA==" if bad == "checksum" else crc) + "\n"
    tsig = sign("AWS4-HMAC-SHA256-TRAILER", prev, hashlib.sha256(trailer.encode()).hexdigest())
    if bad == "signature":
        tsig = "0" * 64
    wire += trailer.replace("\n", "\r\n").encode()
    if bad != "nosig":
        wire += b"x-amz-trailer-signature:" + tsig.encode() + b"\r\n"
    wire += b"\r\n"
    prepared = urllib.request.Request(url, data=wire, method="PUT", headers=dict(req.headers))
    try:
        with urllib.request.urlopen(prepared) as resp:
            return resp.status, resp.headers.get("x-amz-checksum-crc32")
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return text[text.find("<Code>") + 6:text.find("</Code>")], None


body = os.urandom(200000)
want("signed streaming trailer: 4 signed chunks and a signed CRC-32 trailer are taken, the CRC-32 answered",
     signed_trailer(body),
     (200, base64.b64encode(struct.pack(">I", binascii.crc32(body))).decode()))
want("... the object is the body, framing removed",
     plain.get_object(Bucket="trailer", Key="s")["Body"].read() == body, True)
want("... a wrong CRC-32 under a good trailer signature: BadDigest", signed_trailer(b"x" * 10, "checksum")[0],
     "BadDigest")
want("... a wrong trailer signature: SignatureDoesNotMatch", signed_trailer(b"x" * 10, "signature")[0],
     "SignatureDoesNotMatch")
want("... no trailer signature: IncompleteBody", signed_trailer(b"x" * 10, "nosig")[0], "IncompleteBody")
want("... the refused bodies stored nothing", plain.get_object(Bucket="trailer", Key="s")["Body"].read() == body,
     True)
