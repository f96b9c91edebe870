"""A reader for the few TFLite flatbuffer tables that weight conversion needs.

The TFLite schema (`schema.fbs` in TensorFlow) is not shipped with the `flatbuffers` package, and
generating code from it would add a file tree for five tables. This reader walks the tables with
`flatbuffers.table.Table` by field index instead. The indices below are the field order of the
schema's tables (stable across TFLite versions, since flatbuffers only ever appends fields):

    Model:        1 operator_codes, 2 subgraphs, 4 buffers
    SubGraph:     0 tensors, 3 operators
    Tensor:       0 shape, 1 type, 2 buffer, 3 name, 4 quantization
    Quantization: 2 scale, 3 zero_point, 6 quantized_dimension
    Buffer:       0 data
    Operator:     0 opcode_index, 1 inputs, 2 outputs
    OperatorCode: 0 deprecated_builtin_code (int8), 3 builtin_code (int32)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flatbuffers import number_types as N
from flatbuffers import table as fb_table
from flatbuffers.encode import Get as fb_get
from flatbuffers.packer import uoffset as fb_uoffset

from matting_cli.errors import PpidError

# TensorType enum values in schema.fbs that weight files use.
TENSOR_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}

# BuiltinOperator enum values (schema.fbs) for the operators conversion looks at.
BUILTIN_NAMES = {0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 22: "RESHAPE", 25: "SOFTMAX"}


@dataclass(frozen=True)
class TfliteTensor:
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None  # None for activations (no constant buffer)
    scale: np.ndarray | None
    zero_point: np.ndarray | None
    quantized_dimension: int

    def dequantized(self) -> np.ndarray:
        """Real values: scale * (q - zero_point), per tensor or per `quantized_dimension` channel."""
        if self.data is None:
            raise PpidError(f"tflite tensor {self.name!r} has no constant data")
        values = self.data.astype(np.float64)
        if self.scale is None or self.scale.size == 0:
            return values.astype(np.float32)
        scale, zero = self.scale.astype(np.float64), self.zero_point.astype(np.float64)
        if scale.size > 1:  # per-channel quantisation
            shape = [1] * values.ndim
            shape[self.quantized_dimension] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return (scale * (values - zero)).astype(np.float32)


@dataclass(frozen=True)
class TfliteOperator:
    op: str  # builtin name, or "BUILTIN_<code>" for ones this reader does not name
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


class _Table:
    """A flatbuffer table with typed field accessors by field index."""

    def __init__(self, buf: bytearray, pos: int):
        self._t = fb_table.Table(buf, pos)

    def _offset(self, field: int) -> int:
        return self._t.Offset(4 + 2 * field)

    def scalar(self, field: int, flags, default=0):
        o = self._offset(field)
        return self._t.Get(flags, o + self._t.Pos) if o else default

    def string(self, field: int) -> str:
        o = self._offset(field)
        return self._t.String(o + self._t.Pos).decode("utf-8") if o else ""

    def table(self, field: int) -> "_Table | None":
        o = self._offset(field)
        return _Table(self._t.Bytes, self._t.Indirect(o + self._t.Pos)) if o else None

    def tables(self, field: int) -> list["_Table"]:
        o = self._offset(field)
        if not o:
            return []
        start, count = self._t.Vector(o), self._t.VectorLen(o)
        return [_Table(self._t.Bytes, self._t.Indirect(start + 4 * i)) for i in range(count)]

    def numbers(self, field: int, dtype) -> np.ndarray:
        o = self._offset(field)
        if not o:
            return np.zeros(0, dtype=dtype)
        start, count = self._t.Vector(o), self._t.VectorLen(o)
        return np.frombuffer(self._t.Bytes, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=start).copy()


class TfliteModel:
    """Tensors and operators of the first subgraph of a .tflite file, in execution order."""

    def __init__(self, path: str | Path):
        path = Path(path)
        try:
            buf = bytearray(path.read_bytes())
        except OSError as exc:
            raise PpidError(f"{path}: cannot read tflite model ({exc.strerror or exc})") from exc
        if len(buf) < 8 or bytes(buf[4:8]) != b"TFL3":
            raise PpidError(f"{path}: not a TFLite flatbuffer (missing the TFL3 identifier)")
        model = _Table(buf, fb_get(fb_uoffset, buf, 0))
        subgraphs = model.tables(2)
        if not subgraphs:
            raise PpidError(f"{path}: tflite model has no subgraph")
        buffers = [b.numbers(0, np.uint8) for b in model.tables(4)]
        opcodes = []
        for code in model.tables(1):
            # Newer files keep the code in the int32 field 3; older ones only in the int8 field 0.
            builtin = max(code.scalar(3, N.Int32Flags), code.scalar(0, N.Int8Flags))
            opcodes.append(BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"))
        graph = subgraphs[0]
        self.tensors = [self._tensor(t, buffers) for t in graph.tables(0)]
        self.operators = [
            TfliteOperator(opcodes[op.scalar(0, N.Uint32Flags)], tuple(op.numbers(1, np.int32)), tuple(op.numbers(2, np.int32)))
            for op in graph.tables(3)
        ]

    @staticmethod
    def _tensor(t: _Table, buffers: list[np.ndarray]) -> TfliteTensor:
        shape = tuple(int(s) for s in t.numbers(0, np.int32))
        dtype = TENSOR_DTYPES.get(t.scalar(1, N.Int8Flags), np.uint8)
        raw = buffers[t.scalar(2, N.Uint32Flags)] if buffers else np.zeros(0, np.uint8)
        data = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape) if raw.size else None
        q = t.table(4)
        scale = q.numbers(2, np.float32) if q else None
        zero = q.numbers(3, np.int64) if q else None
        qdim = q.scalar(6, N.Int32Flags) if q else 0
        return TfliteTensor(t.string(3), shape, dtype, data, scale, zero, qdim)
