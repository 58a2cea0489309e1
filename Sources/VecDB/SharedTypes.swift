import VecDBKernels
import VecDBStorage

// The value types every layer shares. Each is defined once, in the lowest module that needs it
// (the storage layer persists keys, element types and durability; the kernels compute metrics
// and raise errors), and named here so `import VecDB` is all a service needs. Nothing else of
// the lower modules is visible through the facade.

/// A record's key: a non-negative integer (`.int`) or a string (`.string`) of at most 1,024
/// UTF-8 bytes.
public typealias Key = VecDBStorage.Key

/// How distance is measured: squared Euclidean (`.l2`), negative inner product (`.ip`), or
/// one minus cosine similarity (`.cosine`). Smaller is always closer.
public typealias Metric = VecDBKernels.Metric

/// How a collection stores vector components: `.float32`, `.float16` (half the memory) or
/// `.int8` (8-bit scalar codes, a quarter).
public typealias ElementType = VecDBStorage.ElementType

/// When a write is on disk: `.fsync` before the call returns (the default), or after a
/// periodic sync.
public typealias Durability = VecDBStorage.Durability

/// Every error VecDB throws: a `VecDBError.Code` and a message that names the thing and the
/// reason, with the file path and `errno` when there is one.
public typealias VecDBError = VecDBKernels.VecDBError
