"""What the boto3 scripts of t/s3*.sh share: a check printed as "ok NAME"
or "not ok NAME: why" (the shell script counts them), and the S3 error
code a call ends with."""
import botocore


def want(name, got, expected):
    """Print whether got is expected."""
    if got == expected:
        print("ok " + name)
    else:
        print("not ok %s: got %r, want %r" % (name, got, expected))


def code_of(fn, *a, **kw):
    """The S3 error code of fn(*a, **kw), or "OK"."""
    try:
        fn(*a, **kw)
        return "OK"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
