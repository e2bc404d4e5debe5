"""Requests serialake's own client never sends, for the service tests, from
Python grpcio stubs generated from service/serialake.proto. Usage:
    hostile_client.py STUB_DIR HOST:PORT NAME MODE
NAME is a dataset with tensors id (int64, shape []) and blob (bytes). Modes:
  probes      one bad request per line: giant shapes, wrong dtypes, a sample
              whose bytes do not match its shape, an oversized message, unknown
              datasets; prints "CASE GRPC_CODE SERIALAKE_CODE" for each
  disconnect  appends batches of 10 rows (id = 10 * seq + i) on one stream
              without end and prints "ack SEQ FIRST" as each is acknowledged,
              until it is killed
  stall       starts a Read of NAME, takes one block, prints "stalled" and
              reads nothing more until its stdin closes
A failed call outside a probe prints its codes and exits 1."""
import struct
import sys
import time

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import serialake_pb2 as pb  # noqa: E402
import serialake_pb2_grpc as rpc  # noqa: E402

target, name, mode = sys.argv[2], sys.argv[3], sys.argv[4]
channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 128 << 20)])
stub = rpc.SerialakeStub(channel)


def codes(e):
    details = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    err = pb.Error.FromString(details) if details else None
    return e.code().name, pb.Code.Name(err.code) if err else "-"


def cell(tensor, dtype, shape, data):
    return pb.Cell(tensor=tensor, sample=pb.Sample(dtype=dtype, shape=shape, data=data))


def good_row(i):
    return pb.Row(cells=[cell("id", "int64", [], struct.pack("<q", i)), cell("blob", "bytes", [3], b"abc")])


def append_one(dataset, row):
    """One batch on its own stream: the reply's error code, or the call's."""
    try:
        for reply in stub.Append(iter([pb.AppendRequest(name=dataset, seq=1, rows=[row])])):
            return ("OK", pb.Code.Name(reply.error.code)) if reply.HasField("error") else ("OK", "-")
        return ("OK", "no reply")
    except grpc.RpcError as e:
        return codes(e)


def unary(fn):
    try:
        fn()
        return ("OK", "-")
    except grpc.RpcError as e:
        return codes(e)


def probes():
    big = 1 << 40
    cases = {
        "giant-shape": append_one(name, pb.Row(cells=[cell("id", "int64", [], struct.pack("<q", 1)),
                                                      cell("blob", "bytes", [big, big], b"abc")])),
        "many-dims": append_one(name, pb.Row(cells=[cell("id", "int64", [1] * 100, struct.pack("<q", 1)),
                                                    cell("blob", "bytes", [3], b"abc")])),
        "unknown-dtype": append_one(name, pb.Row(cells=[cell("id", "float128", [], b"\0" * 16),
                                                        cell("blob", "bytes", [3], b"abc")])),
        "wrong-dtype": append_one(name, pb.Row(cells=[cell("id", "float32", [], b"\0" * 4),
                                                      cell("blob", "bytes", [3], b"abc")])),
        "short-data": append_one(name, pb.Row(cells=[cell("id", "int64", [], b"\1\2\3"),
                                                     cell("blob", "bytes", [3], b"abc")])),
        "unknown-tensor": append_one(name, pb.Row(cells=[cell("nope", "int64", [], struct.pack("<q", 1))])),
        "oversized": append_one(name, pb.Row(cells=[cell("id", "int64", [], struct.pack("<q", 1)),
                                                    cell("blob", "bytes", [65 << 20], b"x" * (65 << 20))])),
        "unknown-dataset-append": append_one("no/such", good_row(1)),
        "unknown-dataset-info": unary(lambda: stub.Info(pb.DatasetRef(name="no/such"))),
        "unknown-dataset-read": unary(lambda: list(stub.Read(pb.ReadRequest(name="no/such")))),
        "giant-create": unary(lambda: stub.Create(pb.CreateRequest(name="giant", tensors=[
            pb.TensorSpec(name="t", dtype="uint8", fixed_shape=True, shape=[big, big, big])]))),
        "bad-create-dtype": unary(lambda: stub.Create(pb.CreateRequest(name="bad", tensors=[
            pb.TensorSpec(name="t", dtype="complex256")]))),
        "read-past-end": unary(lambda: list(stub.Read(pb.ReadRequest(name=name, start=1 << 62)))),
    }
    for case, (grpc_code, code) in cases.items():
        print(case, grpc_code, code, flush=True)


def disconnect():
    def batches():
        seq = 0
        while True:
            yield pb.AppendRequest(name=name, seq=seq, rows=[good_row(10 * seq + i) for i in range(10)])
            seq += 1
            time.sleep(0.001)
    for reply in stub.Append(batches()):
        assert not reply.HasField("error"), reply.error.message
        print("ack", reply.seq, reply.first, flush=True)


def stall():
    blocks = stub.Read(pb.ReadRequest(name=name))
    next(blocks)
    print("stalled", flush=True)
    sys.stdin.read()
    blocks.cancel()


try:
    {"probes": probes, "disconnect": disconnect, "stall": stall}[mode]()
except grpc.RpcError as e:
    print("failed:", *codes(e), e.details(), flush=True)
    sys.exit(1)
