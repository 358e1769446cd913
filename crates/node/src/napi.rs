//! Safe wrappers over [`crate::napi_sys`], and the module's entry point. Every
//! `unsafe` block of the addon is in this file; `lib.rs` sees only `Env`, `Value`, `CallCtx` and `Throw`.
//!
//! Each JS-callable function goes through [`trampoline`], which catches panics
//! and turns both panics and `Err(Throw)` into a thrown JS exception, so no
//! unwinding ever crosses into Node.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

use crate::napi_sys::*;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

pub use crate::napi_sys::napi_type_tag as TypeTag;

/// Which JS error constructor to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Error,
    TypeError,
    RangeError,
}

/// An extra property set on a thrown error (`pc`, `log`, ...).
pub enum Prop {
    Number(f64),
    Str(String),
}

/// A JS exception to throw when the callback returns.
pub struct JsError {
    kind: ErrorKind,
    message: String,
    code: Option<&'static str>,
    props: Vec<(&'static str, Prop)>,
}

impl JsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> JsError {
        JsError {
            kind,
            message: message.into(),
            code: None,
            props: Vec::new(),
        }
    }
    pub fn type_error(message: impl Into<String>) -> JsError {
        JsError::new(ErrorKind::TypeError, message).code("ERR_INVALID_ARG_TYPE")
    }
    pub fn range_error(message: impl Into<String>) -> JsError {
        JsError::new(ErrorKind::RangeError, message).code("ERR_OUT_OF_RANGE")
    }
    pub fn code(mut self, code: &'static str) -> JsError {
        self.code = Some(code);
        self
    }
    pub fn prop(mut self, name: &'static str, value: Prop) -> JsError {
        self.props.push((name, value));
        self
    }
}

/// Why a callback did not return a value.
pub enum Throw {
    /// A JS exception is already pending (a Node-API call reported one).
    Pending,
    Js(JsError),
}

impl From<JsError> for Throw {
    fn from(e: JsError) -> Throw {
        Throw::Js(e)
    }
}

pub type Result<T> = std::result::Result<T, Throw>;

#[derive(Clone, Copy)]
pub struct Value(napi_value);

/// The JS types the addon distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsType {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    External,
    Other,
}

/// The Node-API environment of the current call. Only valid during it.
#[derive(Clone, Copy)]
pub struct Env(napi_env);

fn cstring(s: &str) -> CString {
    // Property names are our own literals; a NUL would be a bug here, not input.
    CString::new(s).expect("property name without NUL")
}

impl Env {
    /// Turns a Node-API status into a `Result`, noticing a pending exception.
    fn check(self, status: napi_status, what: &'static str) -> Result<()> {
        if status == NAPI_OK {
            return Ok(());
        }
        let mut pending = false;
        // SAFETY: `self.0` is the env of the running call.
        let asked = unsafe { napi_is_exception_pending(self.0, &mut pending) };
        if status == NAPI_PENDING_EXCEPTION || (asked == NAPI_OK && pending) {
            return Err(Throw::Pending);
        }
        Err(JsError::new(
            ErrorKind::Error,
            format!("Node-API call {what} failed with status {status}"),
        )
        .into())
    }

    pub fn object(self) -> Result<Value> {
        let mut v = null_mut();
        // SAFETY (this and every call below): valid env, out-pointers to locals.
        self.check(
            unsafe { napi_create_object(self.0, &mut v) },
            "napi_create_object",
        )?;
        Ok(Value(v))
    }

    pub fn array(self, len: usize) -> Result<Value> {
        let mut v = null_mut();
        self.check(
            unsafe { napi_create_array_with_length(self.0, len, &mut v) },
            "napi_create_array_with_length",
        )?;
        Ok(Value(v))
    }

    pub fn string(self, s: &str) -> Result<Value> {
        let mut v = null_mut();
        let status = unsafe {
            napi_create_string_utf8(self.0, s.as_ptr() as *const c_char, s.len(), &mut v)
        };
        self.check(status, "napi_create_string_utf8")?;
        Ok(Value(v))
    }

    pub fn number(self, n: f64) -> Result<Value> {
        let mut v = null_mut();
        self.check(
            unsafe { napi_create_double(self.0, n, &mut v) },
            "napi_create_double",
        )?;
        Ok(Value(v))
    }

    pub fn bigint(self, n: u64) -> Result<Value> {
        let mut v = null_mut();
        self.check(
            unsafe { napi_create_bigint_uint64(self.0, n, &mut v) },
            "napi_create_bigint_uint64",
        )?;
        Ok(Value(v))
    }

    /// An object of `name: number` properties: a record's field offsets, a table of constants.
    pub fn numbers(self, pairs: &[(&str, usize)]) -> Result<Value> {
        let o = self.object()?;
        for &(name, n) in pairs {
            self.set(o, name, self.number(n as f64)?)?;
        }
        Ok(o)
    }

    pub fn set(self, object: Value, name: &str, value: Value) -> Result<()> {
        let name = cstring(name);
        let status = unsafe { napi_set_named_property(self.0, object.0, name.as_ptr(), value.0) };
        self.check(status, "napi_set_named_property")
    }

    pub fn set_element(self, array: Value, index: u32, value: Value) -> Result<()> {
        self.check(
            unsafe { napi_set_element(self.0, array.0, index, value.0) },
            "napi_set_element",
        )
    }

    pub fn type_of(self, v: Value) -> Result<JsType> {
        let mut t = 0;
        self.check(unsafe { napi_typeof(self.0, v.0, &mut t) }, "napi_typeof")?;
        Ok(match t {
            NAPI_UNDEFINED => JsType::Undefined,
            NAPI_NULL => JsType::Null,
            NAPI_BOOLEAN => JsType::Boolean,
            NAPI_NUMBER => JsType::Number,
            NAPI_STRING => JsType::String,
            NAPI_EXTERNAL => JsType::External,
            _ => JsType::Other,
        })
    }

    /// A JS function named `name` that calls `method`.
    pub fn function(self, name: &str, method: Method) -> Result<Value> {
        let mut v = null_mut();
        // The fn pointer travels as the callback's data and comes back in
        // `trampoline`; fn and data pointers have the same size on every
        // platform Node supports.
        let data = method as *const () as *mut c_void;
        let status = unsafe {
            napi_create_function(
                self.0,
                name.as_ptr() as *const c_char,
                name.len(),
                Some(trampoline),
                data,
                &mut v,
            )
        };
        self.check(status, "napi_create_function")?;
        Ok(Value(v))
    }

    /// Moves `value` into a new JS external tagged with `tag`. V8 is told about
    /// `size_hint` bytes so that it collects handles often enough; the
    /// finalizer drops `value` and takes the hint back.
    pub fn external<T: 'static>(
        self,
        value: T,
        tag: &'static TypeTag,
        size_hint: usize,
    ) -> Result<Value> {
        let size = size_hint.min(i64::MAX as usize) as i64;
        let data = Box::into_raw(Box::new(value)) as *mut c_void;
        let mut v = null_mut();
        let status = unsafe {
            napi_create_external(
                self.0,
                data,
                Some(finalize::<T>),
                size as usize as *mut c_void,
                &mut v,
            )
        };
        if let Err(e) = self.check(status, "napi_create_external") {
            // SAFETY: Node did not take ownership; we still own the box.
            drop(unsafe { Box::from_raw(data as *mut T) });
            return Err(e);
        }
        // From here on the finalizer owns the box and takes `size` back, so
        // add it first, whatever fails after.
        let mut total = 0;
        self.check(
            unsafe { napi_adjust_external_memory(self.0, size, &mut total) },
            "napi_adjust_external_memory",
        )?;
        self.check(
            unsafe { napi_type_tag_object(self.0, v, tag) },
            "napi_type_tag_object",
        )?;
        Ok(Value(v))
    }

    /// The JS error object `e` describes.
    fn error_value(self, e: &JsError) -> Result<napi_value> {
        let msg = self.string(&e.message)?;
        let code = match e.code {
            Some(c) => self.string(c)?.0,
            None => null_mut(),
        };
        let create = match e.kind {
            ErrorKind::Error => napi_create_error,
            ErrorKind::TypeError => napi_create_type_error,
            ErrorKind::RangeError => napi_create_range_error,
        };
        let mut err = null_mut();
        self.check(
            unsafe { create(self.0, code, msg.0, &mut err) },
            "napi_create_error",
        )?;
        for (name, prop) in &e.props {
            let v = match prop {
                Prop::Number(n) => self.number(*n)?,
                Prop::Str(s) => self.string(s)?,
            };
            self.set(Value(err), name, v)?;
        }
        Ok(err)
    }

    /// Throws `t` (nothing to do when an exception is already pending).
    fn throw(self, t: Throw) {
        let Throw::Js(e) = t else { return };
        // A failure here leaves no better way to report it: ignore statuses.
        let _ = (|| -> Result<()> {
            let err = self.error_value(&e)?;
            self.check(unsafe { napi_throw(self.0, err) }, "napi_throw")
        })();
    }

    pub fn boolean(self, b: bool) -> Result<Value> {
        let mut v = null_mut();
        self.check(
            unsafe { napi_get_boolean(self.0, b, &mut v) },
            "napi_get_boolean",
        )?;
        Ok(Value(v))
    }

    pub fn null(self) -> Result<Value> {
        let mut v = null_mut();
        self.check(unsafe { napi_get_null(self.0, &mut v) }, "napi_get_null")?;
        Ok(Value(v))
    }

    /// A new `Buffer` of `len` bytes, which `fill` writes (Node does not zero it).
    pub fn buffer(self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<Value> {
        let (mut data, mut v) = (null_mut(), null_mut());
        self.check(
            unsafe { napi_create_buffer(self.0, len, &mut data, &mut v) },
            "napi_create_buffer",
        )?;
        let bytes: &mut [u8] = if len == 0 || data.is_null() {
            &mut []
        } else {
            // SAFETY: Node just allocated `len` bytes at `data` for this new
            // buffer; nothing else refers to them until it is returned. The
            // bytes may be uninitialised, so zero them before handing them out.
            unsafe {
                std::ptr::write_bytes(data as *mut u8, 0, len);
                std::slice::from_raw_parts_mut(data as *mut u8, len)
            }
        };
        fill(bytes);
        Ok(Value(v))
    }

    /// Runs `work` on the libuv thread pool and returns a promise that
    /// `settle` resolves on the main thread with `work`'s output turned into
    /// a JS value. A panic in either, or `settle` failing, rejects it instead.
    ///
    /// `work` must own everything it uses (it gets no JS values): the event
    /// loop keeps running while it does. If the environment goes away first
    /// (a worker thread terminated), Node still calls back to free it.
    pub fn promise<R: Send + 'static>(
        self,
        name: &str,
        work: impl FnOnce() -> R + Send + 'static,
        settle: Settle<R>,
    ) -> Result<Value> {
        let (mut deferred, mut promise) = (null_mut(), null_mut());
        self.check(
            unsafe { napi_create_promise(self.0, &mut deferred, &mut promise) },
            "napi_create_promise",
        )?;
        let task = Box::into_raw(Box::new(Task {
            work: Some(Box::new(work)),
            output: None,
            settle,
            deferred,
            async_work: null_mut(),
        }));
        let queued = (|| -> Result<()> {
            let name = self.string(name)?;
            let mut async_work = null_mut();
            let status = unsafe {
                napi_create_async_work(
                    self.0,
                    null_mut(),
                    name.0,
                    Some(execute::<R>),
                    Some(complete::<R>),
                    task as *mut c_void,
                    &mut async_work,
                )
            };
            self.check(status, "napi_create_async_work")?;
            // SAFETY: `task` is ours until the work is queued.
            unsafe { (*task).async_work = async_work };
            let status = unsafe { napi_queue_async_work(self.0, async_work) };
            if status != NAPI_OK {
                unsafe { napi_delete_async_work(self.0, async_work) };
            }
            self.check(status, "napi_queue_async_work")
        })();
        if let Err(e) = queued {
            // Nothing will call `complete`: free the task, settle the unused promise.
            // SAFETY: the box was leaked above and never handed to Node.
            drop(unsafe { Box::from_raw(task) });
            let reason = JsError::new(ErrorKind::Error, "could not queue the work");
            if let Ok(err) = self.error_value(&reason) {
                unsafe { napi_reject_deferred(self.0, deferred, err) };
            }
            return Err(e);
        }
        Ok(Value(promise))
    }

    /// The pending exception, taken (after a Node-API call reported one).
    fn take_exception(self) -> Result<napi_value> {
        let mut e = null_mut();
        self.check(
            unsafe { napi_get_and_clear_last_exception(self.0, &mut e) },
            "napi_get_and_clear_last_exception",
        )?;
        Ok(e)
    }
}

/// Turns the output of a promise's work into the value it resolves with.
pub type Settle<R> = fn(Env, R) -> Result<Value>;

/// One promise's work, from `Env::promise` to `complete`.
struct Task<R> {
    work: Option<Box<dyn FnOnce() -> R + Send>>,
    output: Option<std::thread::Result<R>>,
    settle: Settle<R>,
    deferred: napi_deferred,
    async_work: napi_async_work,
}

/// On a pool thread: runs the work, catching a panic. Touches no JS.
unsafe extern "C" fn execute<R>(_env: napi_env, data: *mut c_void) {
    // SAFETY: `data` is the task `Env::promise` leaked; Node hands it to
    // `execute` and then to `complete`, never to both at once.
    let task = unsafe { &mut *(data as *mut Task<R>) };
    if let Some(work) = task.work.take() {
        task.output = Some(catch_unwind(AssertUnwindSafe(work)));
    }
}

/// On the main thread: settles the promise and frees the task.
unsafe extern "C" fn complete<R>(env: napi_env, status: napi_status, data: *mut c_void) {
    // SAFETY: as in `execute`; this is the last use of the task, which
    // takes its box back exactly once.
    let task = unsafe { Box::from_raw(data as *mut Task<R>) };
    let env = Env(env);
    let Task {
        output,
        settle,
        deferred,
        async_work,
        ..
    } = *task;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        unsafe { napi_delete_async_work(env.0, async_work) };
        let settled = match (status, output) {
            (NAPI_OK, Some(Ok(r))) => catch_unwind(AssertUnwindSafe(|| settle(env, r)))
                .unwrap_or_else(|payload| Err(panic_error(&*payload))),
            (NAPI_OK, Some(Err(payload))) => Err(panic_error(&*payload)),
            (NAPI_CANCELLED, _) => Err(JsError::new(
                ErrorKind::Error,
                "the work was cancelled before it ran",
            )
            .code("CANCELLED")
            .into()),
            (status, _) => Err(JsError::new(
                ErrorKind::Error,
                format!("the work failed with Node-API status {status}"),
            )
            .code("ASYNC_WORK")
            .into()),
        };
        // While the environment shuts down these calls may fail: nothing
        // then waits for the promise, so there is no one left to tell.
        let _ = (|| -> Result<()> {
            match settled {
                Ok(v) => env.check(
                    unsafe { napi_resolve_deferred(env.0, deferred, v.0) },
                    "napi_resolve_deferred",
                ),
                Err(t) => {
                    let reason = match t {
                        Throw::Pending => env.take_exception()?,
                        Throw::Js(e) => env.error_value(&e)?,
                    };
                    env.check(
                        unsafe { napi_reject_deferred(env.0, deferred, reason) },
                        "napi_reject_deferred",
                    )
                }
            }
        })();
    }));
}

/// Drops the value behind a JS external when V8 collects it.
unsafe extern "C" fn finalize<T>(env: napi_env, data: *mut c_void, hint: *mut c_void) {
    // Dropping plain Rust data should not panic, but unwinding out of here
    // would be undefined behaviour, so be sure.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `data` is the box `Env::external::<T>` leaked; Node calls
        // the finalizer exactly once.
        drop(unsafe { Box::from_raw(data as *mut T) });
        let mut total = 0;
        unsafe { napi_adjust_external_memory(env, -(hint as usize as i64), &mut total) };
    }));
}

/// Most arguments any function of this addon takes.
const MAX_ARGS: usize = 10;

/// The arguments of one call. `'cx` is the call's duration: values borrowed
/// from JS through it (externals, buffers) stay alive that long, since no JS
/// runs until the callback returns.
pub struct CallCtx<'cx> {
    env: Env,
    argv: [napi_value; MAX_ARGS],
    _call: PhantomData<&'cx ()>,
}

pub type Method = for<'cx> fn(&mut CallCtx<'cx>) -> Result<Value>;

impl<'cx> CallCtx<'cx> {
    pub fn env(&self) -> Env {
        self.env
    }

    /// Argument `i` as a `Uint8Array` (a Buffer is one), or `None` when it is
    /// undefined or null. Borrowing `self` mutably means at most one such
    /// slice exists at a time, so two arguments naming the same buffer cannot
    /// become two aliasing `&mut`.
    pub fn bytes(&mut self, i: usize, what: &str) -> Result<Option<&mut [u8]>> {
        let (env, v) = (self.env, self.argv[i]);
        // The typed-array test first: it is what nearly every call passes,
        // and `napi_typeof` walks through every other type before "object".
        let mut is_typed = false;
        env.check(
            unsafe { napi_is_typedarray(env.0, v, &mut is_typed) },
            "napi_is_typedarray",
        )?;
        if !is_typed && matches!(env.type_of(Value(v))?, JsType::Undefined | JsType::Null) {
            return Ok(None);
        }
        let (mut kind, mut len, mut data, mut offset) = (0, 0usize, null_mut(), 0usize);
        if is_typed {
            let status = unsafe {
                napi_get_typedarray_info(
                    env.0,
                    v,
                    &mut kind,
                    &mut len,
                    &mut data,
                    null_mut(),
                    &mut offset,
                )
            };
            env.check(status, "napi_get_typedarray_info")?;
        }
        if !is_typed || kind != NAPI_UINT8_ARRAY {
            return Err(
                JsError::type_error(format!("{what} must be a Uint8Array or Buffer")).into(),
            );
        }
        if len == 0 || data.is_null() {
            // Empty or detached: no memory to borrow.
            return Ok(Some(&mut []));
        }
        // SAFETY: Node reports `len` bytes at `data` (already offset) for a
        // Uint8Array, which lives at least until this call returns.
        Ok(Some(unsafe {
            std::slice::from_raw_parts_mut(data as *mut u8, len)
        }))
    }

    /// Argument `i` when it is of type `ty` (`None` when undefined or null);
    /// a TypeError saying `what` must be `expected` otherwise.
    fn typed(
        &self,
        i: usize,
        ty: JsType,
        expected: &str,
        what: &str,
    ) -> Result<Option<napi_value>> {
        let v = self.argv[i];
        match self.env.type_of(Value(v))? {
            JsType::Undefined | JsType::Null => Ok(None),
            t if t == ty => Ok(Some(v)),
            _ => Err(JsError::type_error(format!("{what} must be {expected}")).into()),
        }
    }

    /// Whether argument `i` is undefined or null (an optional argument left out).
    pub fn is_absent(&self, i: usize) -> Result<bool> {
        Ok(matches!(
            self.env.type_of(Value(self.argv[i]))?,
            JsType::Undefined | JsType::Null
        ))
    }

    /// Argument `i` as a string, or `None` when undefined or null.
    pub fn string(&self, i: usize, what: &str) -> Result<Option<String>> {
        let Some(v) = self.typed(i, JsType::String, "a string", what)? else {
            return Ok(None);
        };
        let env = self.env;
        let mut len = 0;
        env.check(
            unsafe { napi_get_value_string_utf8(env.0, v, null_mut(), 0, &mut len) },
            "napi_get_value_string_utf8",
        )?;
        let mut buf = vec![0u8; len + 1];
        let status = unsafe {
            napi_get_value_string_utf8(
                env.0,
                v,
                buf.as_mut_ptr() as *mut c_char,
                buf.len(),
                &mut len,
            )
        };
        env.check(status, "napi_get_value_string_utf8")?;
        buf.truncate(len);
        // Node wrote UTF-8 (lone surrogates become U+FFFD), but stay lenient.
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    /// Argument `i` as a file path: a string without NUL bytes (a NUL would
    /// silently cut the path the kernel sees).
    pub fn path(&self, i: usize, what: &str) -> Result<String> {
        let path = self
            .string(i, what)?
            .ok_or_else(|| JsError::type_error(format!("{what} must be a string")))?;
        if path.contains('\0') {
            return Err(JsError::type_error(format!("{what} must not contain NUL bytes")).into());
        }
        Ok(path)
    }

    /// Argument `i` as one of `choices` by name: its value, `choices[0]`'s
    /// when undefined or null. A TypeError when not a string, a RangeError
    /// naming the choices when none is called that. Read without allocating:
    /// run functions take one per call.
    pub fn choice<T: Copy>(&self, i: usize, what: &str, choices: &[(&str, T)]) -> Result<T> {
        let Some(v) = self.typed(i, JsType::String, "a string", what)? else {
            return Ok(choices[0].1);
        };
        // Room for a longer string than any name (Node writes at most 31
        // bytes and a NUL), so that no string cut short here matches one.
        let mut buf = [0u8; 32];
        debug_assert!(choices.iter().all(|(name, _)| name.len() < buf.len() - 1));
        let mut len = 0;
        let status = unsafe {
            napi_get_value_string_utf8(
                self.env.0,
                v,
                buf.as_mut_ptr() as *mut c_char,
                buf.len(),
                &mut len,
            )
        };
        self.env.check(status, "napi_get_value_string_utf8")?;
        let given = &buf[..len];
        match choices.iter().find(|(name, _)| name.as_bytes() == given) {
            Some(&(_, value)) => Ok(value),
            None => {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("'{n}'")).collect();
                let given = String::from_utf8_lossy(given);
                let cut = if len + 1 == buf.len() { "..." } else { "" };
                let msg = format!(
                    "{what} must be one of {}, got '{given}{cut}'",
                    names.join(", ")
                );
                Err(JsError::range_error(msg).into())
            }
        }
    }

    /// Argument `i` as a boolean, or `None` when undefined or null.
    pub fn boolean(&self, i: usize, what: &str) -> Result<Option<bool>> {
        let Some(v) = self.typed(i, JsType::Boolean, "a boolean", what)? else {
            return Ok(None);
        };
        let env = self.env;
        let mut b = false;
        env.check(
            unsafe { napi_get_value_bool(env.0, v, &mut b) },
            "napi_get_value_bool",
        )?;
        Ok(Some(b))
    }

    /// Argument `i` as a number, or `None` when undefined or null.
    pub fn number(&self, i: usize, what: &str) -> Result<Option<f64>> {
        let Some(v) = self.typed(i, JsType::Number, "a number", what)? else {
            return Ok(None);
        };
        let env = self.env;
        let mut n = 0.0;
        env.check(
            unsafe { napi_get_value_double(env.0, v, &mut n) },
            "napi_get_value_double",
        )?;
        Ok(Some(n))
    }

    /// Argument `i` as a file descriptor: a non-negative integer that fits
    /// an `int`, else a RangeError ("fd must be a file descriptor").
    pub fn fd(&self, i: usize) -> Result<i32> {
        let fd = self.number(i, "fd")?.unwrap_or(-1.0);
        if !(fd >= 0.0 && fd <= i32::MAX as f64 && fd.fract() == 0.0) {
            let msg = format!("fd must be a file descriptor, got {fd}");
            return Err(JsError::range_error(msg).into());
        }
        Ok(fd as i32)
    }

    /// Argument `i` as the `T` inside an external made by [`Env::external`]
    /// with the same `tag`. The tag check is what makes the cast sound: an
    /// external from another addon, or of another type, is refused.
    pub fn external<T: 'static>(
        &self,
        i: usize,
        tag: &'static TypeTag,
        what: &str,
    ) -> Result<&'cx T> {
        let (env, v) = (self.env, self.argv[i]);
        let refuse = || {
            Err(JsError::type_error(format!("{what} is not a handle made by this addon")).into())
        };
        if env.type_of(Value(v))? != JsType::External {
            return refuse();
        }
        let mut ok = false;
        env.check(
            unsafe { napi_check_object_type_tag(env.0, v, tag, &mut ok) },
            "napi_check_object_type_tag",
        )?;
        if !ok {
            return refuse();
        }
        let mut data = null_mut();
        env.check(
            unsafe { napi_get_value_external(env.0, v, &mut data) },
            "napi_get_value_external",
        )?;
        // SAFETY: the tag proves `data` is the `Box<T>` of `Env::external::<T>`;
        // the external is an argument of this call, so it is not collected
        // before the call returns.
        Ok(unsafe { &*(data as *const T) })
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

fn panic_error(payload: &(dyn std::any::Any + Send)) -> Throw {
    JsError::new(
        ErrorKind::Error,
        format!("xrpkv native code panicked: {}", panic_message(payload)),
    )
    .code("PANIC")
    .into()
}

/// The one `napi_callback` of the addon: recovers the `Method` from the
/// callback data and runs it with panics caught.
unsafe extern "C" fn trampoline(env: napi_env, info: napi_callback_info) -> napi_value {
    let env = Env(env);
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Value> {
        let mut argc = MAX_ARGS;
        let mut argv = [null_mut(); MAX_ARGS];
        let mut data = null_mut();
        let status = unsafe {
            napi_get_cb_info(
                env.0,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                null_mut(),
                &mut data,
            )
        };
        env.check(status, "napi_get_cb_info")?;
        // SAFETY: every function is made by `Env::function`, whose data is a `Method`.
        let method: Method = unsafe { std::mem::transmute::<*mut c_void, Method>(data) };
        // Node filled the slots past the real argc with `undefined`.
        method(&mut CallCtx {
            env,
            argv,
            _call: PhantomData,
        })
    }));
    let thrown = match outcome {
        Ok(Ok(v)) => return v.0,
        Ok(Err(t)) => t,
        Err(payload) => panic_error(&*payload),
    };
    env.throw(thrown);
    null_mut()
}

/// The entry point Node looks up when it loads the addon.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    let env = Env(env);
    let thrown = match catch_unwind(AssertUnwindSafe(|| crate::init(env, Value(exports)))) {
        Ok(Ok(())) => return exports,
        Ok(Err(t)) => t,
        Err(payload) => panic_error(&*payload),
    };
    env.throw(thrown);
    null_mut()
}

/// Tells Node which Node-API version the addon expects (else it assumes 8).
#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    NAPI_VERSION
}
