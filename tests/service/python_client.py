"""An independent client of service/serialake.proto: Python grpcio with stubs
generated from the .proto, none of serialake's code. Usage:
    python_client.py STUB_DIR HOST:PORT NAME
Creates NAME, appends 100 rows in 10 batches on one stream, reads them back,
checks every index and value, and prints "ok N". A failed call prints its
serialake code (from the status details) and exits 1."""
import struct
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import serialake_pb2 as pb  # noqa: E402
import serialake_pb2_grpc as rpc  # noqa: E402

target, name = sys.argv[2], sys.argv[3]
stub = rpc.SerialakeStub(grpc.insecure_channel(target))


def cell(tensor, dtype, shape, data):
    return pb.Cell(tensor=tensor, sample=pb.Sample(dtype=dtype, shape=shape, data=data))


try:
    stub.Create(pb.CreateRequest(name=name, tensors=[
        pb.TensorSpec(name="id", dtype="int64", fixed_shape=True, shape=[]),
        pb.TensorSpec(name="text", dtype="text")]))

    def batches():
        for b in range(10):
            rows = [pb.Row(cells=[cell("id", "int64", [], struct.pack("<q", b * 10 + i)),
                                  cell("text", "text", [len(f"row {b * 10 + i}")], f"row {b * 10 + i}".encode())])
                    for i in range(10)]
            yield pb.AppendRequest(name=name, seq=b, durable=(b == 9), rows=rows)

    acked = {}
    for reply in stub.Append(batches()):
        assert not reply.HasField("error"), reply.error.message
        acked[reply.seq] = (reply.first, reply.count)
    assert sorted(acked) == list(range(10)), acked
    for seq, (first, count) in acked.items():
        assert count == 10

    seen = 0
    for block in stub.Read(pb.ReadRequest(name=name)):
        for k, row in enumerate(block.rows):
            index = block.first + k
            cells = {c.tensor: c.sample for c in row.cells}
            value = struct.unpack("<q", cells["id"].data)[0]
            # The row landed where its batch's reply said.
            seq = value // 10
            assert acked[seq][0] + value % 10 == index, (index, value, acked[seq])
            assert cells["text"].data.decode() == f"row {value}"
            seen += 1
    assert seen == 100, seen
    print("ok", seen)
except grpc.RpcError as e:
    details = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    err = pb.Error.FromString(details) if details else None
    print("failed:", e.code(), pb.Code.Name(err.code) if err else "-", e.details())
    sys.exit(1)
