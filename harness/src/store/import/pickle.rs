//! A small pickle reader (protocols 2-5) for the official benchmark files.
//!
//! It runs the pickle virtual machine on bytes and returns a [`Value`] tree; it never executes
//! anything. Class references are kept as data, except a few that official files use and that
//! are mapped to plain values:
//! - `collections.OrderedDict` becomes a [`Value::Dict`] (keys keep their order);
//! - numpy scalars (`numpy.core.multiarray.scalar(dtype, bytes)`, also `numpy._core...`)
//!   become [`Value::Float`], [`Value::Int`] or [`Value::Bool`];
//! - `_codecs.encode(str, 'latin1')` (protocol-2 bytes) becomes [`Value::Bytes`];
//! - `builtins` containers (`dict`, `list`, `tuple`, `set`, `frozenset`) become the container.
//!
//! Any other `GLOBAL` + `REDUCE`/`NEWOBJ`/`BUILD` becomes a [`Value::Object`]. Unsupported
//! (and reported as such): protocols 0-1, persistent ids (torch files), the extension
//! registry and out-of-band buffers.

use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;

/// A value read from a pickle.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// A bool.
    Bool(bool),
    /// An int that fits in i64.
    Int(i64),
    /// A larger int: little-endian two's complement bytes, as pickled.
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A str.
    Str(String),
    /// bytes or bytearray.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A set or frozenset.
    Set(Vec<Value>),
    /// A dict or `collections.OrderedDict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A class or function reference (`module.name`) not applied to arguments.
    Global {
        /// Module, e.g. `numpy`.
        module: String,
        /// Name, e.g. `dtype`.
        name: String,
    },
    /// An instance of a class the reader does not map: `class(*args)` then `BUILD(state)`.
    Object {
        /// `module.name` of the class or callable.
        class: String,
        /// The arguments (a tuple).
        args: Box<Value>,
        /// The state set by `BUILD`, if any.
        state: Option<Box<Value>>,
    },
    /// Internal: a reference to the memo while the VM runs. Never present in a value
    /// returned by [`load`].
    MemoRef(u32),
}

impl Value {
    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::Global { .. } => "class reference",
            Value::Object { .. } => "object",
            Value::MemoRef(_) => "memo reference",
        }
    }
    /// The number, for ints, floats and bools.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            Value::Bool(b) => Some(b as u8 as f64),
            _ => None,
        }
    }
    /// The integer, for ints (and floats with an integral value).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }
    /// The string, for str.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The items, for lists, tuples and sets.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }
    /// The entries, for dicts.
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
    /// The value of a str key of a dict (`None` if not a dict or no such key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Reads one pickle from `data` (bytes after its STOP opcode are ignored). Errors give the
/// byte offset and opcode; callers add the file name.
pub fn load(data: &[u8]) -> Result<Value> {
    if data.len() < 2 || data[0] != 0x80 {
        let head: Vec<String> = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
        bail!(
            "not a pickle of protocol 2-5 (starts with bytes {}{})",
            head.join(" "),
            if data.is_empty() { "<empty>" } else { "" }
        );
    }
    if !(2..=5).contains(&data[1]) {
        bail!("unsupported pickle protocol {} (expected 2-5)", data[1]);
    }
    Vm {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

/// Deepest nesting [`Vm::resolve`] follows (guards against cyclic memo references).
const MAX_DEPTH: usize = 512;

impl Vm<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.data.len() - self.pos < n {
            bail!(
                "unexpected end of data at byte {} (needed {n} more bytes, {} left): truncated pickle",
                self.pos,
                self.data.len() - self.pos
            );
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn len64(&mut self) -> Result<usize> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| anyhow!("length {n} too large"))
    }
    fn line(&mut self) -> Result<String> {
        let rest = &self.data[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            bail!(
                "unexpected end of data at byte {}: truncated pickle",
                self.pos
            );
        };
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }
    fn utf8(&mut self, n: usize) -> Result<Value> {
        let at = self.pos;
        let b = self.take(n)?.to_vec();
        String::from_utf8(b)
            .map(Value::Str)
            .map_err(|_| anyhow!("invalid UTF-8 in a string at byte {at}"))
    }
    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }
    fn pop(&mut self) -> Result<Value> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            bail!("stack underflow (pop across a MARK)");
        }
        self.stack.pop().ok_or_else(|| anyhow!("stack underflow"))
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| anyhow!("no MARK on the stack"))?;
        if m > self.stack.len() {
            bail!("corrupt MARK");
        }
        Ok(self.stack.split_off(m))
    }
    /// The value on top of the stack for in-place updates (through a memo reference).
    fn top_mut(&mut self) -> Result<&mut Value> {
        let mut idx = match self.stack.last() {
            None => bail!("stack underflow"),
            Some(Value::MemoRef(i)) => *i,
            Some(_) => return Ok(self.stack.last_mut().unwrap()),
        };
        for _ in 0..MAX_DEPTH {
            match self.memo.get(&idx) {
                None => bail!("memo entry {idx} missing"),
                Some(Value::MemoRef(j)) => idx = *j,
                Some(_) => return Ok(self.memo.get_mut(&idx).unwrap()),
            }
        }
        bail!("cyclic memo reference")
    }
    fn memo_put(&mut self, idx: u32) -> Result<()> {
        let top = self
            .stack
            .last_mut()
            .ok_or_else(|| anyhow!("stack underflow"))?;
        let v = std::mem::replace(top, Value::MemoRef(idx));
        if v == Value::MemoRef(idx) {
            return Ok(());
        }
        self.memo.insert(idx, v);
        Ok(())
    }
    fn memo_get(&mut self, idx: u32) -> Result<()> {
        if !self.memo.contains_key(&idx) {
            bail!("memo entry {idx} missing");
        }
        self.push(Value::MemoRef(idx));
        Ok(())
    }
    /// A copy of `v` with every memo reference replaced by its (resolved) value.
    fn resolve(&self, v: &Value, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            bail!("values nested deeper than {MAX_DEPTH} (cyclic pickle?)");
        }
        let r = |x: &Value| self.resolve(x, depth + 1);
        Ok(match v {
            Value::MemoRef(i) => {
                let m = self
                    .memo
                    .get(i)
                    .ok_or_else(|| anyhow!("memo entry {i} missing"))?;
                self.resolve(m, depth + 1)?
            }
            Value::List(x) => Value::List(x.iter().map(r).collect::<Result<_>>()?),
            Value::Tuple(x) => Value::Tuple(x.iter().map(r).collect::<Result<_>>()?),
            Value::Set(x) => Value::Set(x.iter().map(r).collect::<Result<_>>()?),
            Value::Dict(x) => Value::Dict(
                x.iter()
                    .map(|(k, v)| Ok((r(k)?, r(v)?)))
                    .collect::<Result<_>>()?,
            ),
            Value::Object { class, args, state } => Value::Object {
                class: class.clone(),
                args: Box::new(r(args)?),
                state: state.as_ref().map(|s| r(s).map(Box::new)).transpose()?,
            },
            other => other.clone(),
        })
    }

    fn run(mut self) -> Result<Value> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match self.step(op) {
                Ok(true) => {
                    let v = self.pop()?;
                    return self.resolve(&v, 0);
                }
                Ok(false) => {}
                Err(e) => bail!("at byte {at} (opcode 0x{op:02x} {:?}): {e:#}", op as char),
            }
        }
    }

    /// Executes one opcode; `Ok(true)` at STOP.
    fn step(&mut self, op: u8) -> Result<bool> {
        match op {
            0x80 => {
                let p = self.u8()?;
                if !(2..=5).contains(&p) {
                    bail!("unsupported pickle protocol {p}");
                }
            }
            0x95 => {
                let n = self.len64()?;
                if n > self.data.len() - self.pos {
                    bail!(
                        "frame of {n} bytes but only {} left: truncated pickle",
                        self.data.len() - self.pos
                    );
                }
            }
            b'.' => return Ok(true),
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self
                    .stack
                    .last()
                    .cloned()
                    .ok_or_else(|| anyhow!("stack underflow"))?;
                self.push(v);
            }
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                self.push(Value::Int(v as i64));
            }
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v as i64));
            }
            b'M' => {
                let v = self.u16()?;
                self.push(Value::Int(v as i64));
            }
            0x8a => {
                let n = self.u8()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(long_from_bytes(b));
            }
            0x8b => {
                let n = self.u32()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(long_from_bytes(b));
            }
            b'I' => {
                let s = self.line()?;
                let v = match s.as_str() {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    t => Value::Int(t.parse().map_err(|_| anyhow!("bad INT {t:?}"))?),
                };
                self.push(v);
            }
            b'G' => {
                let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                self.push(Value::Float(v));
            }
            b'F' => {
                let s = self.line()?;
                let v = s.parse().map_err(|_| anyhow!("bad FLOAT {s:?}"))?;
                self.push(Value::Float(v));
            }
            0x8c => {
                let n = self.u8()? as usize;
                let v = self.utf8(n)?;
                self.push(v);
            }
            b'X' => {
                let n = self.u32()? as usize;
                let v = self.utf8(n)?;
                self.push(v);
            }
            0x8d => {
                let n = self.len64()?;
                let v = self.utf8(n)?;
                self.push(v);
            }
            b'U' | b'T' => {
                // Python-2 str: decoded as latin-1, as Python 3 does with encoding='latin1'.
                let n = if op == b'U' {
                    self.u8()? as usize
                } else {
                    self.u32()? as usize
                };
                let s = self.take(n)?.iter().map(|&b| b as char).collect();
                self.push(Value::Str(s));
            }
            b'C' => {
                let n = self.u8()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(Value::Bytes(b));
            }
            b'B' => {
                let n = self.u32()? as usize;
                let b = self.take(n)?.to_vec();
                self.push(Value::Bytes(b));
            }
            0x8e | 0x96 => {
                let n = self.len64()?;
                let b = self.take(n)?.to_vec();
                self.push(Value::Bytes(b));
            }
            b']' => self.push(Value::List(Vec::new())),
            b')' => self.push(Value::Tuple(Vec::new())),
            b'}' => self.push(Value::Dict(Vec::new())),
            0x8f => self.push(Value::Set(Vec::new())),
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(items));
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n + self.marks.last().copied().unwrap_or(0) {
                    bail!("stack underflow");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(Value::Tuple(items));
            }
            b'd' => {
                let items = self.pop_mark()?;
                let d = pairs(items)?;
                self.push(Value::Dict(d));
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.push(Value::Set(items));
            }
            b'a' => {
                let v = self.pop()?;
                match self.top_mut()? {
                    Value::List(l) => l.push(v),
                    o => bail!("APPEND to a {}", o.type_name()),
                }
            }
            b'e' => {
                let items = self.pop_mark()?;
                match self.top_mut()? {
                    Value::List(l) => l.extend(items),
                    o => bail!("APPENDS to a {}", o.type_name()),
                }
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                match self.top_mut()? {
                    Value::Dict(d) => d.push((k, v)),
                    o => bail!("SETITEM on a {}", o.type_name()),
                }
            }
            b'u' => {
                let items = pairs(self.pop_mark()?)?;
                match self.top_mut()? {
                    Value::Dict(d) => d.extend(items),
                    o => bail!("SETITEMS on a {}", o.type_name()),
                }
            }
            0x90 => {
                let items = self.pop_mark()?;
                match self.top_mut()? {
                    Value::Set(s) => s.extend(items),
                    o => bail!("ADDITEMS on a {}", o.type_name()),
                }
            }
            b'q' => {
                let i = self.u8()? as u32;
                self.memo_put(i)?;
            }
            b'r' => {
                let i = self.u32()?;
                self.memo_put(i)?;
            }
            b'p' => {
                let s = self.line()?;
                let i = s.parse().map_err(|_| anyhow!("bad PUT index {s:?}"))?;
                self.memo_put(i)?;
            }
            0x94 => {
                let i = self.memo.len() as u32;
                self.memo_put(i)?;
            }
            b'h' => {
                let i = self.u8()? as u32;
                self.memo_get(i)?;
            }
            b'j' => {
                let i = self.u32()?;
                self.memo_get(i)?;
            }
            b'g' => {
                let s = self.line()?;
                let i = s.parse().map_err(|_| anyhow!("bad GET index {s:?}"))?;
                self.memo_get(i)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(Value::Global { module, name });
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (module, name) = match (self.resolve(&module, 0)?, self.resolve(&name, 0)?) {
                    (Value::Str(m), Value::Str(n)) => (m, n),
                    (m, n) => bail!(
                        "STACK_GLOBAL needs two str, got {} and {}",
                        m.type_name(),
                        n.type_name()
                    ),
                };
                self.push(Value::Global { module, name });
            }
            b'R' => {
                let args = self.pop()?;
                let f = self.pop()?;
                let v = self.apply(f, args)?;
                self.push(v);
            }
            0x81 => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let v = self.apply(cls, args)?;
                self.push(v);
            }
            0x92 => {
                let _kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let v = self.apply(cls, args)?;
                self.push(v);
            }
            b'b' => {
                let state = self.pop()?;
                let state = self.resolve(&state, 0)?;
                match self.top_mut()? {
                    Value::Object { state: s, .. } => *s = Some(Box::new(state)),
                    // OrderedDict's own state is its instance dict (normally empty).
                    Value::Dict(_) if matches!(&state, Value::None) => {}
                    Value::Dict(_) if state.as_dict().is_some_and(|d| d.is_empty()) => {}
                    o => bail!(
                        "BUILD on a {} with a {} state",
                        o.type_name(),
                        state.type_name()
                    ),
                }
            }
            b'P' | b'Q' => {
                bail!("persistent ids are not supported (a torch file? read it as such)")
            }
            0x82..=0x84 => bail!("the pickle extension registry is not supported"),
            0x97 | 0x98 => bail!("out-of-band buffers (protocol 5) are not supported"),
            b'i' | b'o' => bail!("protocol-0/1 instances are not supported"),
            _ => bail!("unknown opcode (not a pickle, or a corrupt one)"),
        }
        Ok(false)
    }

    /// `f(*args)` for a class or function reference.
    fn apply(&mut self, f: Value, args: Value) -> Result<Value> {
        let f = self.resolve(&f, 0)?;
        let args = self.resolve(&args, 0)?;
        let Value::Global { module, name } = f else {
            bail!("call of a {} (expected a class reference)", f.type_name());
        };
        let items = match &args {
            Value::Tuple(t) => t.as_slice(),
            o => bail!(
                "arguments of {module}.{name} are a {}, not a tuple",
                o.type_name()
            ),
        };
        let builtin = module == "builtins" || module == "__builtin__";
        Ok(match (module.as_str(), name.as_str()) {
            ("collections", "OrderedDict") | (_, "dict") if builtin || name == "OrderedDict" => {
                match items {
                    [] => Value::Dict(Vec::new()),
                    [Value::List(l) | Value::Tuple(l)] => {
                        let mut d = Vec::with_capacity(l.len());
                        for kv in l {
                            match kv.as_seq() {
                                Some([k, v]) => d.push((k.clone(), v.clone())),
                                _ => bail!("{module}.{name}: items must be pairs"),
                            }
                        }
                        Value::Dict(d)
                    }
                    [Value::Dict(d)] => Value::Dict(d.clone()),
                    _ => bail!("{module}.{name}: unsupported arguments"),
                }
            }
            (_, "list" | "tuple" | "set" | "frozenset") if builtin => {
                let seq = match items {
                    [] => Vec::new(),
                    [s] => s
                        .as_seq()
                        .ok_or_else(|| anyhow!("{module}.{name} of a {}", s.type_name()))?
                        .to_vec(),
                    _ => bail!("{module}.{name}: unsupported arguments"),
                };
                match name.as_str() {
                    "list" => Value::List(seq),
                    "tuple" => Value::Tuple(seq),
                    _ => Value::Set(seq),
                }
            }
            ("_codecs", "encode") => match items {
                [Value::Str(s), Value::Str(enc)] if enc == "latin1" || enc == "latin-1" => {
                    let mut b = Vec::with_capacity(s.len());
                    for c in s.chars() {
                        b.push(u8::try_from(c as u32).map_err(|_| anyhow!("non-latin-1 char"))?);
                    }
                    Value::Bytes(b)
                }
                _ => bail!("_codecs.encode: unsupported arguments"),
            },
            ("numpy.core.multiarray" | "numpy._core.multiarray", "scalar") => match items {
                [dtype, Value::Bytes(b)] => numpy_scalar(dtype, b)?,
                _ => bail!("{module}.scalar: expected (dtype, bytes)"),
            },
            _ => Value::Object {
                class: format!("{module}.{name}"),
                args: Box::new(args),
                state: None,
            },
        })
    }
}

/// Groups `[k1, v1, k2, v2, ...]` into pairs.
fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>> {
    if items.len() & 1 != 0 {
        bail!("odd number of items for a dict");
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// An int from little-endian two's complement bytes (LONG1/LONG4).
fn long_from_bytes(b: Vec<u8>) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() <= 8 {
        let fill = if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 };
        let mut buf = [fill; 8];
        buf[..b.len()].copy_from_slice(&b);
        return Value::Int(i64::from_le_bytes(buf));
    }
    Value::BigInt(b)
}

/// A numpy scalar from its dtype (`numpy.dtype(code, ...)` with state `(3, endian, ...)`)
/// and its raw bytes.
fn numpy_scalar(dtype: &Value, b: &[u8]) -> Result<Value> {
    let Value::Object { class, args, state } = dtype else {
        bail!("numpy scalar with a {} as dtype", dtype.type_name());
    };
    if class != "numpy.dtype" {
        bail!("numpy scalar with dtype {class}");
    }
    let code = args
        .as_seq()
        .and_then(|a| a.first())
        .and_then(|c| c.as_str())
        .ok_or_else(|| anyhow!("numpy.dtype without a type code"))?;
    let endian = state
        .as_deref()
        .and_then(|s| s.as_seq())
        .and_then(|s| s.get(1))
        .and_then(|e| e.as_str())
        .unwrap_or("<");
    let big = endian == ">";
    let mut buf = b.to_vec();
    if big {
        buf.reverse();
    }
    let need = |n: usize| -> Result<()> {
        if buf.len() != n {
            bail!(
                "numpy scalar of dtype {code} has {} bytes, expected {n}",
                buf.len()
            );
        }
        Ok(())
    };
    Ok(match code {
        "f8" => {
            need(8)?;
            Value::Float(f64::from_le_bytes(buf[..8].try_into().unwrap()))
        }
        "f4" => {
            need(4)?;
            Value::Float(f32::from_le_bytes(buf[..4].try_into().unwrap()) as f64)
        }
        "f2" => {
            need(2)?;
            Value::Float(f16_to_f64(u16::from_le_bytes([buf[0], buf[1]])))
        }
        "i8" | "i4" | "i2" | "i1" => {
            let n: usize = code[1..].parse().unwrap();
            need(n)?;
            let fill = if buf[n - 1] & 0x80 != 0 { 0xff } else { 0 };
            let mut w = [fill; 8];
            w[..n].copy_from_slice(&buf);
            Value::Int(i64::from_le_bytes(w))
        }
        "u8" | "u4" | "u2" | "u1" => {
            let n: usize = code[1..].parse().unwrap();
            need(n)?;
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&buf);
            let v = u64::from_le_bytes(w);
            match i64::try_from(v) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::BigInt(w.iter().copied().chain([0]).collect()),
            }
        }
        "b1" => {
            need(1)?;
            Value::Bool(buf[0] != 0)
        }
        _ => bail!("numpy scalar of unsupported dtype {code:?}"),
    })
}

/// IEEE half precision to f64.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// A pickle writer for tests: protocol 4, in the shapes the official files use (dicts as
/// `collections.OrderedDict` via GLOBAL + REDUCE, numpy float64 scalars via STACK_GLOBAL).
#[cfg(test)]
pub(crate) mod writer {
    use std::collections::HashMap;

    /// A value to write.
    #[derive(Clone, Debug)]
    pub enum W {
        None,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(String),
        List(Vec<W>),
        Tuple(Vec<W>),
        /// A plain dict.
        Dict(Vec<(W, W)>),
        /// A `collections.OrderedDict`.
        ODict(Vec<(W, W)>),
        /// A numpy float64 scalar.
        NpF64(f64),
        /// A numpy int64 scalar.
        NpI64(i64),
    }

    /// Shorthand for a str value.
    pub fn s(x: &str) -> W {
        W::Str(x.to_string())
    }

    #[derive(Default)]
    struct Writer {
        out: Vec<u8>,
        memo: usize,
        strings: HashMap<String, usize>,
        dtypes: HashMap<&'static str, usize>,
        scalar_global: Option<usize>,
    }

    impl Writer {
        fn memoize(&mut self) -> usize {
            self.out.push(0x94);
            self.memo += 1;
            self.memo - 1
        }
        fn get(&mut self, i: usize) {
            if i < 256 {
                self.out.extend([b'h', i as u8]);
            } else {
                self.out.push(b'j');
                self.out.extend((i as u32).to_le_bytes());
            }
        }
        fn str(&mut self, x: &str) {
            if let Some(&i) = self.strings.get(x) {
                return self.get(i);
            }
            if x.len() < 256 {
                self.out.extend([0x8c, x.len() as u8]);
            } else {
                self.out.push(b'X');
                self.out.extend((x.len() as u32).to_le_bytes());
            }
            self.out.extend(x.as_bytes());
            let i = self.memoize();
            self.strings.insert(x.to_string(), i);
        }
        fn int(&mut self, i: i64) {
            if (0..256).contains(&i) {
                self.out.extend([b'K', i as u8]);
            } else if i32::try_from(i).is_ok() {
                self.out.push(b'J');
                self.out.extend((i as i32).to_le_bytes());
            } else {
                self.out.extend([0x8a, 8]);
                self.out.extend(i.to_le_bytes());
            }
        }
        fn items(&mut self, d: &[(W, W)]) {
            if d.is_empty() {
                return;
            }
            self.out.push(b'(');
            for (k, v) in d {
                self.value(k);
                self.value(v);
            }
            self.out.push(b'u');
        }
        fn numpy(&mut self, code: &'static str, bytes: [u8; 8]) {
            match self.scalar_global {
                Some(i) => self.get(i),
                None => {
                    self.str("numpy.core.multiarray");
                    self.str("scalar");
                    self.out.push(0x93);
                    self.scalar_global = Some(self.memoize());
                }
            }
            match self.dtypes.get(code) {
                Some(&i) => self.get(i),
                None => {
                    self.out.extend(b"cnumpy\ndtype\n");
                    self.memoize();
                    self.str(code);
                    self.out.extend([0x89, 0x88, 0x87]); // False, True, TUPLE3
                    self.memoize();
                    self.out.push(b'R');
                    let i = self.memoize();
                    // state (3, '<', None, None, None, -1, -1, 0)
                    self.out.extend([b'(', b'K', 3]);
                    self.str("<");
                    self.out.extend(b"NNN");
                    self.int(-1);
                    self.int(-1);
                    self.int(0);
                    self.out.push(b't');
                    self.memoize();
                    self.out.push(b'b');
                    self.dtypes.insert(code, i);
                }
            }
            self.out.extend([b'C', 8]);
            self.out.extend(bytes);
            self.memoize();
            self.out.push(0x86); // TUPLE2
            self.memoize();
            self.out.push(b'R');
            self.memoize();
        }
        fn value(&mut self, v: &W) {
            match v {
                W::None => self.out.push(b'N'),
                W::Bool(b) => self.out.push(if *b { 0x88 } else { 0x89 }),
                W::Int(i) => self.int(*i),
                W::Float(f) => {
                    self.out.push(b'G');
                    self.out.extend(f.to_be_bytes());
                }
                W::Str(x) => self.str(x),
                W::List(l) => {
                    self.out.push(b']');
                    self.memoize();
                    if !l.is_empty() {
                        self.out.push(b'(');
                        for x in l {
                            self.value(x);
                        }
                        self.out.push(b'e');
                    }
                }
                W::Tuple(t) => {
                    self.out.push(b'(');
                    for x in t {
                        self.value(x);
                    }
                    self.out.push(b't');
                    self.memoize();
                }
                W::Dict(d) => {
                    self.out.push(b'}');
                    self.memoize();
                    self.items(d);
                }
                W::ODict(d) => {
                    self.out.extend(b"ccollections\nOrderedDict\n");
                    self.memoize();
                    self.out.push(b')');
                    self.out.push(b'R');
                    self.memoize();
                    self.items(d);
                }
                W::NpF64(f) => self.numpy("f8", f.to_le_bytes()),
                W::NpI64(i) => self.numpy("i8", i.to_le_bytes()),
            }
        }
    }

    /// The protocol-4 pickle of `v` (one frame).
    pub fn dumps(v: &W) -> Vec<u8> {
        let mut w = Writer::default();
        w.value(v);
        w.out.push(b'.');
        let mut out = vec![0x80, 4, 0x95];
        out.extend((w.out.len() as u64).to_le_bytes());
        out.extend(w.out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::writer::{dumps, s, W};
    use super::*;

    fn sample() -> W {
        W::ODict(vec![
            (s("arch_index"), W::Int(6111)),
            (
                s("all_results"),
                W::Dict(vec![(
                    W::Tuple(vec![s("cifar10-valid"), W::Int(777)]),
                    W::ODict(vec![
                        (
                            s("eval_acc1es"),
                            W::ODict(vec![(s("x-valid@199"), W::NpF64(91.5))]),
                        ),
                        (s("latency"), W::List(vec![W::Float(0.01), W::NpF64(0.02)])),
                        (s("params"), W::NpF64(1.5)),
                        (s("epochs"), W::NpI64(200)),
                        (s("name"), W::None),
                        (s("big"), W::Int(1 << 40)),
                        (s("neg"), W::Int(-5)),
                        (s("flag"), W::Bool(true)),
                    ]),
                )]),
            ),
            (s("arch_str"), s("x-valid@199")),
        ])
    }

    #[test]
    fn reads_ordered_dicts_numpy_scalars_and_memo() {
        let v = load(&dumps(&sample())).unwrap();
        assert_eq!(v.get("arch_index"), Some(&Value::Int(6111)));
        assert_eq!(
            v.get("arch_str").and_then(|x| x.as_str()),
            Some("x-valid@199")
        );
        let (k, r) = &v.get("all_results").unwrap().as_dict().unwrap()[0];
        assert_eq!(
            k,
            &Value::Tuple(vec![Value::Str("cifar10-valid".into()), Value::Int(777)])
        );
        assert_eq!(
            r.get("eval_acc1es").unwrap().get("x-valid@199"),
            Some(&Value::Float(91.5))
        );
        assert_eq!(
            r.get("latency").unwrap(),
            &Value::List(vec![Value::Float(0.01), Value::Float(0.02)])
        );
        assert_eq!(r.get("epochs"), Some(&Value::Int(200)));
        assert_eq!(r.get("big"), Some(&Value::Int(1 << 40)));
        assert_eq!(r.get("neg"), Some(&Value::Int(-5)));
        assert_eq!(r.get("flag"), Some(&Value::Bool(true)));
        assert_eq!(r.get("name"), Some(&Value::None));
    }

    #[test]
    fn reads_pickles_python_wrote() {
        // CPython 3 `pickle.dumps({'a': [1.5, 2, None], 'b': ('x', True)}, protocol=2 / 5)`.
        let p2 = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(G?\xf8\x00\x00\x00\x00\x00\x00K\x02NeX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04\x88\x86q\x05u.";
        let p5 = b"\x80\x05\x95$\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(G?\xf8\x00\x00\x00\x00\x00\x00K\x02Ne\x8c\x01b\x94\x8c\x01x\x94\x88\x86\x94u.";
        for p in [&p2[..], &p5[..]] {
            let v = load(p).unwrap();
            assert_eq!(
                v.get("a"),
                Some(&Value::List(vec![
                    Value::Float(1.5),
                    Value::Int(2),
                    Value::None
                ]))
            );
            assert_eq!(
                v.get("b"),
                Some(&Value::Tuple(vec![
                    Value::Str("x".into()),
                    Value::Bool(true)
                ]))
            );
        }
        // `OrderedDict([('k', 1)])`, protocol 4 (STACK_GLOBAL) and 2 (GLOBAL).
        let od = Value::Dict(vec![(Value::Str("k".into()), Value::Int(1))]);
        let p4 = b"\x80\x04\x95)\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01k\x94K\x01s.";
        let p2 = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00kq\x02K\x01s.";
        assert_eq!(load(p4).unwrap(), od);
        assert_eq!(load(p2).unwrap(), od);
        // numpy 2: `[np.float64(1.5), np.int64(3), np.float32(2.5)]`, protocol 4.
        let np4 = b"\x80\x04\x95\xd4\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x08\x00\x00\x00\x00\x00\x00\xf8?\x94\x86\x94R\x94h\x03h\x06\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\nNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x08\x03\x00\x00\x00\x00\x00\x00\x00\x94\x86\x94R\x94h\x03h\x06\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03h\nNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x04\x00\x00 @\x94\x86\x94R\x94e.";
        assert_eq!(
            load(np4).unwrap(),
            Value::List(vec![Value::Float(1.5), Value::Int(3), Value::Float(2.5)])
        );
        // numpy 2 `np.float64(1.5)`, protocol 2 (bytes through _codecs.encode).
        let np2 = b"\x80\x02cnumpy._core.multiarray\nscalar\nq\x00cnumpy\ndtype\nq\x01X\x02\x00\x00\x00f8q\x02\x89\x88\x87q\x03Rq\x04(K\x03X\x01\x00\x00\x00<q\x05NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x06bc_codecs\nencode\nq\x07X\t\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\xb8?q\x08X\x06\x00\x00\x00latin1q\t\x86q\nRq\x0b\x86q\x0cRq\r.";
        assert_eq!(load(np2).unwrap(), Value::Float(1.5));
    }

    #[test]
    fn memo_references_see_later_mutation() {
        // An empty list memoized, fetched back with BINGET, then filled by APPENDS through
        // the reference: `] MEMOIZE h0 ( K1 K2 e 0 .` must give [1, 2].
        let p = b"\x80\x04]\x94h\x00(K\x01K\x02e0.";
        assert_eq!(
            load(p).unwrap(),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        // A memoized inner list referenced twice.
        let p = b"\x80\x04]\x94(]\x94h\x01e\x8c\x01z\x94a.";
        assert_eq!(
            load(p).unwrap(),
            Value::List(vec![
                Value::List(vec![]),
                Value::List(vec![]),
                Value::Str("z".into())
            ])
        );
    }

    #[test]
    fn bad_input_errors_clearly() {
        let e = load(b"\x89PNG\r\n\x1a\n\0\0").unwrap_err().to_string();
        assert!(
            e.contains("not a pickle") && e.contains("89 50 4e 47"),
            "{e}"
        );
        let good = dumps(&sample());
        for cut in [good.len() / 2, good.len() - 1, 12] {
            let e = format!("{:#}", load(&good[..cut]).unwrap_err());
            assert!(e.contains("truncated"), "cut {cut}: {e}");
        }
        let e = load(b"\x80\x04\xffN.").unwrap_err().to_string();
        assert!(e.contains("unknown opcode") && e.contains("byte 2"), "{e}");
        let e = load(b"\x80\x09N.").unwrap_err().to_string();
        assert!(e.contains("protocol 9"), "{e}");
        let e = load(b"\x80\x04K\x01a.").unwrap_err().to_string();
        assert!(e.contains("stack underflow"), "{e}");
    }
}
