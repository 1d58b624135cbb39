/* SPDX-License-Identifier: MIT
 *
 * wintun._wintun.TunDevice: one adapter and, while it is up, its session.
 *
 * Threads: every call that can block runs with the GIL released: the waits, adapter creation,
 * configuration (netlink, IP Helper), up()/down()/close() and a write() that waits for room.
 * up(), down() and close() are serialised by one operation lock per device (never held across a
 * packet wait; taken with the GIL released), so any two of them from any threads leave a
 * consistent state. down() and close() wake a thread blocked in a wait through a private cancel
 * event, then wait until no thread is inside the wait before the session is freed. Every wait
 * runs in slices and checks for signals between them: Ctrl-C interrupts it within 50 ms. The
 * library's own handles are safe against all of this (a stale one gets ERROR_INVALID_HANDLE).
 */
#include "py_tundevice.h"
#include "ip.h"
#include "logger.h"
#include "platform.h"
#include "ring.h"
#include "session.h"

#include <limits.h>
#include <math.h>
#include <pythread.h>
#include <structmember.h>
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>
#endif


/* The operation lock, waited for with the GIL released. A logger callback that calls up(),
 * down() or close() of the device whose operation logged is refused (it would wait for itself). */
static int op_begin(TunDevice *self)
{
    unsigned long me = PyThread_get_thread_ident();
    if (wt_atomic_load(&self->op_owner, WT_RELAXED) == me) {
        PyErr_SetString(PyExc_RuntimeError, "up(), down() and close() cannot be called from within one of them (a "
                                            "logger callback): defer it to another thread");
        return -1;
    }
    if (!PyThread_acquire_lock(self->op_lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->op_lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    wt_atomic_store(&self->op_owner, me, WT_RELAXED);
    return 0;
}

static void op_end(TunDevice *self)
{
    wt_atomic_store(&self->op_owner, 0, WT_RELAXED);
    PyThread_release_lock(self->op_lock);
}

static PyObject *raise_closed(TunDevice *self)
{
    const char *what = self->adapter ? "the adapter is down: call up() first" : "the adapter is closed";
    return wt_raise_class(state_of(self)->AdapterClosedError, self->adapter ? ERROR_NOT_READY : ERROR_INVALID_HANDLE, what);
}

/* The session, or NULL with AdapterClosedError set. */
static WINTUN_SESSION_HANDLE session_of(TunDevice *self)
{
    if (!self->session)
        raise_closed(self);
    return self->session;
}

int adapter_of(TunDevice *self)
{
    if (!self->adapter) {
        raise_closed(self);
        return 0;
    }
    return 1;
}

#ifndef _WIN32
/* _wait_fd(): a descriptor asyncio can watch for the running session's read event: a dup() of
 * it, so that it stays valid (and readable) after the session ends and closes its own. The
 * session keeps one for its waits one after the other (a dup() and a close() less per wait); a
 * wait while another holds it gets one of its own, since a loop watches a descriptor for one
 * callback only. Each wait gives it back with _wait_done(fd). */
static PyObject *TunDevice_wait_fd(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!session_of(self))
        return NULL;
    if (self->wait_current >= 0 && self->wait_dups[self->wait_current].users) {
        int fd = dup(WintunGetEventFd(self->read_event));
        return fd < 0 ? PyErr_SetFromErrno(PyExc_OSError) : PyLong_FromLong(fd);
    }
    if (self->wait_current < 0) {
        const int n = (int)(sizeof(self->wait_dups) / sizeof(self->wait_dups[0]));
        for (int i = 0; i < n && self->wait_current < 0; ++i)
            if (self->wait_dups[i].fd < 0)
                self->wait_current = i;
        int fd = dup(WintunGetEventFd(self->read_event));
        if (fd < 0)
            return PyErr_SetFromErrno(PyExc_OSError);
        if (self->wait_current < 0) /* every slot held by waits of ended sessions: one of its own */
            return PyLong_FromLong(fd);
        self->wait_dups[self->wait_current] = (struct wait_dup){ .fd = fd };
    }
    struct wait_dup *d = &self->wait_dups[self->wait_current];
    d->users++;
    return PyLong_FromLong(d->fd);
}

static void close_wait_dup(struct wait_dup *d)
{
    close(d->fd);
    *d = (struct wait_dup){ .fd = -1 };
}

static PyObject *TunDevice_wait_done(TunDevice *self, PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd > INT_MAX)
        return PyErr_Format(PyExc_ValueError, "not a descriptor of _wait_fd(): %ld", fd);
    for (size_t i = 0; i < sizeof(self->wait_dups) / sizeof(self->wait_dups[0]); ++i) {
        struct wait_dup *d = &self->wait_dups[i];
        if (d->fd == fd && d->users) {
            if (!--d->users && d->retired)
                close_wait_dup(d);
            Py_RETURN_NONE;
        }
    }
    close(fd); /* one of its own */
    Py_RETURN_NONE;
}

/* The session ended: its descriptor goes once its last wait has given it back. */
static void retire_wait_dup(TunDevice *self)
{
    if (self->wait_current < 0)
        return;
    struct wait_dup *d = &self->wait_dups[self->wait_current];
    self->wait_current = -1;
    d->retired = 1;
    if (!d->users)
        close_wait_dup(d);
}
#endif

/* ---- construction ---- */

int parse_capacity(PyObject *value, DWORD *capacity)
{
    if (!PyLong_Check(value) || PyBool_Check(value)) {
        wt_type_error("ring_capacity must be an int", value);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || !tun_ring_capacity_valid(v < 0 ? 0 : (uint64_t)v)) {
        PyObject *repr = PyObject_Repr(value);
        PyErr_Format(PyExc_ValueError,
                     "ring_capacity must be a power of two between 0x%x (128 KiB) and 0x%x (64 MiB), not %S",
                     WINTUN_MIN_RING_CAPACITY, WINTUN_MAX_RING_CAPACITY, repr ? repr : value);
        Py_XDECREF(repr);
        return -1;
    }
    *capacity = (DWORD)v;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces; a uuid.UUID works through str(). */
static int parse_guid(PyObject *value, GUID *guid)
{
    if (!PyUnicode_Check(value)) {
        PyObject *uuid_bytes = PyObject_GetAttrString(value, "bytes");
        PyObject *text = uuid_bytes && PyObject_HasAttrString(value, "hex") ? PyObject_Str(value) : NULL;
        Py_XDECREF(uuid_bytes);
        if (!text) {
            PyErr_Clear();
            wt_type_error("guid must be a str, a uuid.UUID or None", value);
            return -1;
        }
        int r = parse_guid(text, guid);
        Py_DECREF(text);
        return r;
    }
    Py_ssize_t len, start = 0;
    const char *text = PyUnicode_AsUTF8AndSize(value, &len);
    if (!text)
        return -1;
    if (len == 38 && text[0] == '{' && text[37] == '}')
        start = 1, len = 36;
    uint8_t bytes[16];
    int n = 0;
    if (len != 36)
        goto bad;
    for (Py_ssize_t i = 0; i < 36; ++i) {
        char c = text[start + i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                goto bad;
            continue;
        }
        int hi = hex_value(c), lo = hex_value(text[start + i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        bytes[n++] = (uint8_t)(hi << 4 | lo);
        ++i;
    }
    guid->Data1 = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
    guid->Data2 = (uint16_t)(bytes[4] << 8 | bytes[5]);
    guid->Data3 = (uint16_t)(bytes[6] << 8 | bytes[7]);
    memcpy(guid->Data4, bytes + 8, 8);
    return 0;
bad:
    PyErr_Format(PyExc_ValueError, "guid %R is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", value);
    return -1;
}

static int parse_backend(PyObject *value, WINTUN_BACKEND *backend, int *automatic)
{
    *automatic = 0;
    if (PyUnicode_CompareWithASCIIString(value, "emulated") == 0)
        *backend = WINTUN_BACKEND_EMULATED;
    else if (PyUnicode_CompareWithASCIIString(value, "kernel") == 0)
        *backend = WINTUN_BACKEND_KERNEL;
    else if (PyUnicode_CompareWithASCIIString(value, "auto") == 0) {
        *automatic = 1;
        const char *env = getenv("WINTUN_BACKEND");
        if (!env || !*env || !strcmp(env, "kernel") || !strcmp(env, "auto"))
            *backend = WINTUN_BACKEND_KERNEL;
        else if (!strcmp(env, "emulated"))
            *backend = WINTUN_BACKEND_EMULATED;
        else {
            PyErr_Format(PyExc_ValueError, "WINTUN_BACKEND=%s is not a backend: use 'auto', 'kernel' or 'emulated'", env);
            return -1;
        }
    } else {
        PyErr_Format(PyExc_ValueError, "backend must be 'auto', 'kernel' or 'emulated', not %R", value);
        return -1;
    }
    return 0;
}

static int check_text(const char *what, PyObject *value, Py_ssize_t max_chars)
{
    Py_ssize_t len = PyUnicode_GetLength(value);
    if (!len) {
        PyErr_Format(PyExc_ValueError, "%s must not be empty", what);
        return -1;
    }
    if (len > max_chars) {
        PyErr_Format(PyExc_ValueError, "%s is %zd characters long; at most %zd are allowed", what, len, max_chars);
        return -1;
    }
    if (PyUnicode_FindChar(value, 0, 0, len, 1) >= 0) {
        PyErr_Format(PyExc_ValueError, "%s must not contain NUL characters", what);
        return -1;
    }
    return 0;
}

/* Py_XSETREF, which the Stable ABI lacks. */
static void replace_ref(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;
    *slot = Py_NewRef(value);
    Py_XDECREF(old);
}

/* What a write does when the ring stays full for write_timeout: "drop" (count it in write_drops
 * and go on, as a kernel TUN write does: the default) or "raise" (RingFullError). */
static int set_on_full(TunDevice *self, PyObject *value)
{
    if (!PyUnicode_Check(value)) {
        wt_type_error("on_full must be 'drop' or 'raise'", value);
        return -1;
    }
    if (!PyUnicode_CompareWithASCIIString(value, "drop"))
        self->raise_on_full = 0;
    else if (!PyUnicode_CompareWithASCIIString(value, "raise"))
        self->raise_on_full = 1;
    else {
        PyErr_Format(PyExc_ValueError, "on_full must be 'drop' or 'raise', not %R", value);
        return -1;
    }
    return 0;
}

#define MAX_WRITE_TIMEOUT 10.0

/* A number of seconds: an int or a float (not a bool); an int too large for a double is +-inf,
 * never an OverflowError. */
static int seconds_of(PyObject *value, const char *expected, double *seconds)
{
    if (PyBool_Check(value) || (!PyLong_Check(value) && !PyFloat_Check(value))) {
        wt_type_error(expected, value);
        return -1;
    }
    *seconds = PyFloat_AsDouble(value);
    if (*seconds != -1.0 || !PyErr_Occurred())
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_OverflowError))
        return -1;
    PyErr_Clear();
    PyObject *zero = PyLong_FromLong(0);
    int negative = zero ? PyObject_RichCompareBool(value, zero, Py_LT) : -1;
    Py_XDECREF(zero);
    if (negative < 0)
        return -1;
    *seconds = negative ? -HUGE_VAL : HUGE_VAL;
    return 0;
}

static int set_write_timeout(TunDevice *self, PyObject *value)
{
    double seconds;
    if (seconds_of(value, "write_timeout must be a number of seconds", &seconds) < 0)
        return -1;
    if (!(seconds >= 0 && seconds <= MAX_WRITE_TIMEOUT)) {
        PyErr_Format(PyExc_ValueError, "write_timeout must be between 0 and %d seconds", (int)MAX_WRITE_TIMEOUT);
        return -1;
    }
    self->write_timeout = seconds;
    return 0;
}

/* "wintun0", "wintun1", ... one number per call in this process. */
static PyObject *next_default_name(void)
{
    static unsigned counter;
    return PyUnicode_FromFormat("wintun%u", wt_atomic_fetch_add(&counter, 1, WT_RELAXED));
}

static int TunDevice_init(TunDevice *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "name", "tunnel_type", "ring_capacity", "guid", "backend", "netns", "on_full",
                              "write_timeout", "offload", NULL };
    PyObject *name = NULL, *tunnel_type = NULL, *capacity = NULL, *guid_arg = Py_None, *backend_arg = NULL,
             *netns = Py_None, *on_full = NULL, *write_timeout = NULL, *offload = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|UUOO$UOUOO:TunDevice", kwlist, &name, &tunnel_type, &capacity, &guid_arg,
                                     &backend_arg, &netns, &on_full, &write_timeout, &offload))
        return -1;
    WINTUN_OFFLOAD_MODE offload_mode = WINTUN_OFFLOAD_TRANSPARENT;
    if (offload != Py_None && parse_offload(offload, &offload_mode) < 0)
        return -1;
    if (on_full && set_on_full(self, on_full) < 0)
        return -1;
    if (write_timeout && set_write_timeout(self, write_timeout) < 0)
        return -1;
    if (netns != Py_None && (!PyUnicode_Check(netns) || !PyUnicode_GetLength(netns))) {
        PyErr_SetString(PyExc_TypeError, "netns must be None, 'private', a namespace name or a path");
        return -1;
    }
    if (self->adapter) {
        PyErr_SetString(PyExc_RuntimeError, "TunDevice.__init__() called twice");
        return -1;
    }
    wt_state *st = state_of(self);
    PyObject *default_name = NULL, *default_type = NULL, *default_backend = NULL;
    int result = -1;
    const int default_named = !name;
    if (!name)
        name = default_name = next_default_name();
    if (!tunnel_type)
        tunnel_type = default_type = PyUnicode_FromString("Wintun");
    if (!backend_arg)
        backend_arg = default_backend = PyUnicode_FromString("auto");
    if (!name || !tunnel_type || !backend_arg)
        goto out;
    DWORD ring_capacity = 0x400000;
    GUID guid;
    WINTUN_BACKEND backend;
    int automatic;
    if (check_text("name", name, 127) < 0 || check_text("tunnel_type", tunnel_type, 128) < 0 ||
        (capacity && parse_capacity(capacity, &ring_capacity) < 0) ||
        (guid_arg != Py_None && parse_guid(guid_arg, &guid) < 0) || parse_backend(backend_arg, &backend, &automatic) < 0)
        goto out;
    const char *netns_path = NULL;
    if (netns != Py_None) {
        if (backend != WINTUN_BACKEND_KERNEL && !automatic) {
            PyErr_SetString(PyExc_ValueError, "netns needs the kernel backend");
            goto out;
        }
        backend = WINTUN_BACKEND_KERNEL;
        if (!(netns_path = PyUnicode_AsUTF8AndSize(netns, NULL)))
            goto out;
    }

    WINTUN_ADAPTER_HANDLE adapter;
    DWORD err;
    /* With no name given, the next free "wintun<N>", as the kernel's "tun%d" for pytun's users:
     * a name another process took already is skipped. */
    for (unsigned tries = 0;; ++tries) {
        wchar_t *wname = PyUnicode_AsWideCharString(name, NULL);
        wchar_t *wtype = wname ? PyUnicode_AsWideCharString(tunnel_type, NULL) : NULL;
        if (!wtype) {
            PyMem_Free(wname);
            goto out;
        }
        wt_log_clear_last();
        const GUID *requested = guid_arg != Py_None ? &guid : NULL;
        WITHOUT_GIL(adapter, netns_path ? WintunCreateAdapterInNetns(wname, wtype, requested, netns_path)
                                        : WintunCreateAdapterEx(wname, wtype, requested, backend));
        err = adapter ? ERROR_SUCCESS : GetLastError();
        PyMem_Free(wname);
        PyMem_Free(wtype);
        if (adapter || !default_named || err != ERROR_ALREADY_EXISTS || tries >= 64)
            break;
        Py_DECREF(default_name);
        if (!(name = default_name = next_default_name()))
            goto out;
    }
    if (!adapter) {
        if (err == ERROR_INVALID_NAME || err == ERROR_BUFFER_OVERFLOW) {
            PyErr_Format(PyExc_ValueError, "the OS cannot take %R as an adapter name: %s", name, wt_log_last_error());
            wt_log_clear_last();
#ifdef _WIN32
        } else if (backend == WINTUN_BACKEND_KERNEL &&
                   (err == ERROR_MOD_NOT_FOUND || err == ERROR_PROC_NOT_FOUND || err == ERROR_ACCESS_DENIED)) {
            char message[WT_LOG_MAX_CHARS + 256];
            PyOS_snprintf(message, sizeof(message), "no Wintun adapter: %s. %s, or use backend='emulated' for an in-process adapter",
                          wt_log_last_error()[0] ? wt_log_last_error() : "wintun.dll failed",
                          err == ERROR_ACCESS_DENIED
                              ? "Creating an adapter needs Administrator rights"
                              : "Put the official wintun.dll (https://www.wintun.net, bin/<arch>/wintun.dll) next to "
                                "the wintun package or the program, or name it with WINTUN_DLL or wintun.load_dll(path)");
            wt_log_clear_last();
            wt_raise_class(err == ERROR_ACCESS_DENIED ? st->NotPermittedError : st->NotFoundError, err, message);
#endif
        } else if (automatic && (err == ERROR_NOT_SUPPORTED || err == ERROR_ACCESS_DENIED)) {
            char message[WT_LOG_MAX_CHARS + 256];
            PyOS_snprintf(message, sizeof(message),
                          "no kernel adapter: %s. backend='auto' does not fall back: run as root or grant "
                          "CAP_NET_ADMIN for the kernel backend, or run wintun-helper (docs/helper.md) and join "
                          "its group, or pass netns='private' for a namespace of "
                          "the adapter's own, or backend='emulated' (or set WINTUN_BACKEND=emulated) for an "
                          "in-process adapter",
                          wt_log_last_error()[0] ? wt_log_last_error() : "not permitted");
            wt_log_clear_last();
            wt_raise_class(err == ERROR_ACCESS_DENIED ? st->NotPermittedError : st->WintunError, err, message);
        } else {
            wt_raise(st, err, "cannot create the adapter");
        }
        goto out;
    }
    if (offload != Py_None && set_offload_mode(self, adapter, offload_mode) < 0) {
        WITHOUT_GIL(adapter, (WintunCloseAdapter(adapter), NULL));
        goto out;
    }
    if (self->adapter) { /* another __init__ of the same object won meanwhile */
        WITHOUT_GIL(adapter, (WintunCloseAdapter(adapter), NULL));
        PyErr_SetString(PyExc_RuntimeError, "TunDevice.__init__() called twice");
        goto out;
    }
    self->adapter = adapter;
    self->ring_capacity = ring_capacity;
    replace_ref(&self->name, name);
    replace_ref(&self->tunnel_type, tunnel_type);
    replace_ref(&self->netns, netns);
    result = 0;
out:
    Py_XDECREF(default_name);
    Py_XDECREF(default_type);
    Py_XDECREF(default_backend);
    return result;
}

static PyObject *TunDevice_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args, (void)kwds;
    wt_state *st = wt_state_of_type(type);
    if (!st)
        return NULL;
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    TunDevice *self = (TunDevice *)alloc(type, 0);
    if (!self)
        return NULL;
    self->state = st;
    self->write_timeout = 0.05;
    self->wait_current = -1;
    for (size_t i = 0; i < sizeof(self->wait_dups) / sizeof(self->wait_dups[0]); ++i)
        self->wait_dups[i].fd = -1;
    self->op_lock = PyThread_allocate_lock();
    if (!self->op_lock) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->cancel = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!self->cancel) {
        Py_DECREF(self);
        return wt_raise(st, GetLastError(), "cannot create an event");
    }
    return (PyObject *)self;
}

/* ---- up, down, close ---- */

static PyObject *TunDevice_up(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (op_begin(self) < 0)
        return NULL;
    PyObject *result = NULL;
    WINTUN_ADAPTER_HANDLE adapter = self->adapter;
    if (!adapter) {
        raise_closed(self);
        goto out;
    }
    if (self->session) { /* idempotent: also when another thread's up() won */
        result = Py_NewRef(Py_None);
        goto out;
    }
    wt_state *st = state_of(self);
    wt_log_clear_last();
    BOOL ok;
    WITHOUT_GIL(ok, WintunSetAdapterUp(adapter, TRUE));
    if (!ok) {
        wt_raise(st, GetLastError(), "cannot bring the adapter up");
        goto out;
    }
    WINTUN_SESSION_HANDLE session;
    WITHOUT_GIL(session, WintunStartSession(adapter, self->ring_capacity));
    if (!session) {
        wt_raise(st, GetLastError(), "cannot start the session");
        goto out;
    }
    ResetEvent(self->cancel);
    WINTUN_OFFLOAD_MODE mode; /* the session's: the mode cannot change while it runs */
    BOOL ok_mode;
    WITHOUT_GIL(ok_mode, WintunGetAdapterOffload(adapter, &mode, NULL));
    self->super_packets = ok_mode && mode == WINTUN_OFFLOAD_SUPER_PACKETS;
    self->read_event = WintunGetReadWaitEvent(session);
    self->session = session;
    result = Py_NewRef(Py_None);
out:
    op_end(self);
    return result;
}

/* Wakes the threads waiting with the GIL released (on the read or the capture event) and returns
 * once they have left; called with the GIL held, which it releases meanwhile. */
static void release_waiters(TunDevice *self)
{
    SetEvent(self->cancel);
    Py_BEGIN_ALLOW_THREADS
    while (wt_atomic_load(&self->waiters, WT_ACQUIRE))
        wt_sleep_us(100);
    Py_END_ALLOW_THREADS
}

/* Under the operation lock: wakes waiters, waits for them to leave, ends the session. */
static void end_session(TunDevice *self)
{
    WINTUN_SESSION_HANDLE session = self->session;
    if (!session)
        return;
    self->session = NULL; /* with the GIL held: no new waiter or reader can start */
    self->read_event = NULL;
#ifndef _WIN32
    retire_wait_dup(self);
#endif
    release_waiters(self);
    Py_BEGIN_ALLOW_THREADS
    WintunEndSession(session);
    Py_END_ALLOW_THREADS
}

static PyObject *TunDevice_down(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (op_begin(self) < 0)
        return NULL;
    PyObject *result = Py_None;
    if (self->session) { /* idempotent, also after close() */
        end_session(self);
        wt_log_clear_last();
        WINTUN_ADAPTER_HANDLE adapter = self->adapter;
        BOOL ok = TRUE;
        if (adapter)
            WITHOUT_GIL(ok, WintunSetAdapterUp(adapter, FALSE));
        if (!ok)
            result = wt_raise(state_of(self), GetLastError(), "cannot bring the adapter down");
    }
    op_end(self);
    return Py_XNewRef(result);
}

/* Under the operation lock. */
static void close_locked(TunDevice *self)
{
    WINTUN_ADAPTER_HANDLE adapter = self->adapter;
    self->adapter = NULL; /* with the GIL held: a waiter woken below finds the adapter closed */
    end_session(self);
    if (!adapter)
        return;
    release_waiters(self); /* a capture wait (emulated), which needs no session */
    Py_BEGIN_ALLOW_THREADS
    WintunCloseAdapter(adapter);
    Py_END_ALLOW_THREADS
    /* No wait can start any more (they need the adapter): the cancel event goes now, not at
     * garbage collection, so a closed device holds no descriptor. */
    if (self->cancel) {
        CloseHandle(self->cancel);
        self->cancel = NULL;
    }
}

static int close_device(TunDevice *self)
{
    if (op_begin(self) < 0)
        return -1;
    close_locked(self);
    op_end(self);
    return 0;
}

static PyObject *TunDevice_close(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (close_device(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *TunDevice_enter(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    return Py_NewRef((PyObject *)self);
}

static PyObject *TunDevice_exit(TunDevice *self, PyObject *args)
{
    (void)args;
    if (close_device(self) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

static int TunDevice_traverse(TunDevice *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE((PyObject *)self));
    Py_VISIT(self->name);
    Py_VISIT(self->tunnel_type);
    Py_VISIT(self->netns);
    return 0;
}

static void TunDevice_dealloc(TunDevice *self)
{
    PyTypeObject *type = Py_TYPE((PyObject *)self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->op_lock) { /* nobody else can hold it: no other reference is left */
        close_locked(self);
        PyThread_free_lock(self->op_lock);
    }
    if (self->cancel)
        CloseHandle(self->cancel);
#ifndef _WIN32
    for (size_t i = 0; i < sizeof(self->wait_dups) / sizeof(self->wait_dups[0]); ++i)
        if (self->wait_dups[i].fd >= 0) /* no wait is left: it would hold a reference */
            close_wait_dup(&self->wait_dups[i]);
#endif
    Py_CLEAR(self->name);
    Py_CLEAR(self->tunnel_type);
    Py_CLEAR(self->netns);
    freefunc free_self = (freefunc)PyType_GetSlot(type, Py_tp_free);
    free_self(self);
    Py_DECREF(type);
}

/* ---- reading ---- */

/* Packets are taken with WintunReceivePackets: one lock acquisition per call, and a packet the
 * visitor cannot take (no memory, no room) simply stays in the ring for the next call. */

struct bytes_batch
{
    PyObject **items;
    DWORD count;
};

static BOOL CALLBACK take_as_bytes(void *context, const BYTE *packet, DWORD size)
{
    struct bytes_batch *batch = context;
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)packet, size); /* not GC-tracked: no re-entry */
    if (!bytes)
        return FALSE;
    batch->items[batch->count++] = bytes;
    return TRUE;
}

/* WintunReceivePackets(visitor) as read(), read_batch() and readinto() need it: how many packets
 * the visitor took; 0 with *declined set when it refused the first; 0 with an exception set on an
 * error; else 0: the ring is empty and the read event armed. On empty it drops a stale signal,
 * arms the event and looks once more, so that the event (and its fd) is set exactly when a packet
 * may be waiting. */
static DWORD receive_with(TunDevice *self, WINTUN_SESSION_HANDLE session, WINTUN_PACKET_VISITOR visitor,
                          void *context, DWORD max, int *declined)
{
    *declined = 0;
    for (int rearmed = 0;; rearmed = 1) {
        DWORD n = WintunReceivePackets(session, visitor, context, max);
        if (n)
            return n;
        DWORD err = GetLastError();
        if (err == ERROR_SUCCESS) {
            *declined = 1;
            return 0;
        }
        if (err != ERROR_NO_MORE_ITEMS) {
            wt_raise(state_of(self), err, "cannot read a packet");
            return 0;
        }
        if (rearmed)
            return 0;
        ResetEvent(self->read_event);
        if (!WintunIsReceiveReady(session))
            return 0;
    }
}

/* Up to max packets into batch. 0 with an exception set, 0 with none when the ring is empty (the
 * read event re-armed), else how many. */
static DWORD receive_batch(TunDevice *self, WINTUN_SESSION_HANDLE session, struct bytes_batch *batch, DWORD max)
{
    int declined;
    DWORD n = receive_with(self, session, take_as_bytes, batch, max, &declined);
    if (declined && !PyErr_Occurred())
        PyErr_NoMemory(); /* take_as_bytes refuses only when it cannot make the bytes */
    return n;
}

static PyObject *TunDevice_read(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        return NULL;
    PyObject *item;
    struct bytes_batch batch = { .items = &item };
    if (receive_batch(self, session, &batch, 1))
        return item;
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *TunDevice_read_batch(TunDevice *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "max", NULL };
    PyObject *max_arg = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:read_batch", kwlist, &max_arg))
        return NULL;
    Py_ssize_t max = 64;
    if (max_arg) {
        if (!PyLong_Check(max_arg))
            return wt_type_error("max must be an int", max_arg);
        max = PyNumber_AsSsize_t(max_arg, NULL); /* clamped: 2**70 is out of range, not an OverflowError */
    }
    if (max < 1 || max > 0x10000) {
        if (max_arg)
            PyErr_Format(PyExc_ValueError, "max must be between 1 and 65536, not %R", max_arg);
        else
            PyErr_Format(PyExc_ValueError, "max must be between 1 and 65536, not %zd", max);
        return NULL;
    }
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        return NULL;
    PyObject *stack_items[256];
    struct bytes_batch batch = { .items = max <= 256 ? stack_items : PyMem_Malloc((size_t)max * sizeof(PyObject *)) };
    if (!batch.items)
        return PyErr_NoMemory();
    PyObject *list = NULL;
    receive_batch(self, session, &batch, (DWORD)max);
    if (!batch.count && PyErr_Occurred())
        goto out;
    PyErr_Clear(); /* an error after some packets comes again on the next call */
    list = PyList_New(batch.count);
    if (!list) {
        for (DWORD i = 0; i < batch.count; ++i)
            Py_DECREF(batch.items[i]);
        goto out;
    }
    for (DWORD i = 0; i < batch.count; ++i)
        PyList_SetItem(list, i, batch.items[i]); /* steals; cannot fail in range */
out:
    if (batch.items != stack_items)
        PyMem_Free(batch.items);
    return list;
}

struct into_buffer
{
    Py_buffer *view;
    DWORD size;
};

static BOOL CALLBACK copy_into(void *context, const BYTE *packet, DWORD size)
{
    struct into_buffer *into = context;
    into->size = size;
    if ((Py_ssize_t)size > into->view->len)
        return FALSE; /* the packet stays for the next read */
    memcpy(into->view->buf, packet, size);
    return TRUE;
}

static PyObject *TunDevice_readinto(TunDevice *self, PyObject *arg)
{
    Py_buffer view;
    if (wt_get_buffer(arg, &view, 1, "readinto()'s buffer") < 0)
        return NULL;
    PyObject *result = NULL;
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        goto out;
    struct into_buffer into = { .view = &view };
    int declined;
    if (receive_with(self, session, copy_into, &into, 1, &declined))
        result = PyLong_FromUnsignedLong(into.size);
    else if (declined) /* copy_into refuses only a packet larger than the buffer */
        PyErr_Format(PyExc_ValueError, "buffer of %zd bytes is too small for the next packet of %lu bytes", view.len,
                     (unsigned long)into.size);
    else if (!PyErr_Occurred())
        result = Py_NewRef(Py_None);
out:
    PyBuffer_Release(&view);
    return result;
}

int parse_timeout(PyObject *timeout, DWORD *ms)
{
    if (timeout == Py_None) {
        *ms = INFINITE;
        return 0;
    }
    double seconds;
    if (seconds_of(timeout, "timeout must be a number of seconds or None", &seconds) < 0)
        return -1;
    if (isnan(seconds) || seconds < 0) {
        PyErr_Format(PyExc_ValueError, "timeout must not be negative%s", isnan(seconds) ? " or NaN" : "");
        return -1;
    }
    double millis = ceil(seconds * 1000.0);
    *ms = millis >= (double)(INFINITE - 1) ? INFINITE - 1 : (DWORD)millis;
    return 0;
}

/* How long one slice of a wait lasts: signals (Ctrl-C) are checked between slices. */
#define WAIT_SLICE_MS 50

/* Waits for event or the cancel event with the GIL released, counted in waiters so that
 * release_waiters() knows when the handles may go: True when event fired; False on timeout or
 * when down()/close() woke it; NULL when a signal handler raised (KeyboardInterrupt). */
PyObject *wait_or_cancel(TunDevice *self, HANDLE event, DWORD ms, const char *what)
{
    HANDLE events[2] = { event, self->cancel };
    const uint64_t deadline = ms == INFINITE ? UINT64_MAX : wt_monotonic_ns() + (uint64_t)ms * 1000000ull;
    DWORD r;
    wt_atomic_add_fetch(&self->waiters, 1, WT_ACQ_REL);
    for (;;) {
        uint64_t now = wt_monotonic_ns();
        DWORD slice = WAIT_SLICE_MS;
        if (deadline != UINT64_MAX && deadline - now < (uint64_t)WAIT_SLICE_MS * 1000000ull)
            slice = now >= deadline ? 0 : (DWORD)((deadline - now + 999999) / 1000000);
        Py_BEGIN_ALLOW_THREADS
        r = WaitForMultipleObjects(2, events, FALSE, slice);
        Py_END_ALLOW_THREADS
        if (r != WAIT_TIMEOUT || wt_monotonic_ns() >= deadline)
            break;
        if (PyErr_CheckSignals() < 0) {
            wt_atomic_sub_fetch(&self->waiters, 1, WT_ACQ_REL);
            return NULL;
        }
    }
    wt_atomic_sub_fetch(&self->waiters, 1, WT_ACQ_REL);
    if (r == WAIT_OBJECT_0)
        Py_RETURN_TRUE;
    if (r == WAIT_OBJECT_0 + 1 || r == WAIT_TIMEOUT)
        Py_RETURN_FALSE;
    return wt_raise(state_of(self), GetLastError(), what);
}

static PyObject *TunDevice_wait_read_event(TunDevice *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "timeout", NULL };
    PyObject *timeout = Py_None;
    DWORD ms;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:wait_read_event", kwlist, &timeout) || parse_timeout(timeout, &ms) < 0)
        return NULL;
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        return NULL;
    if (WintunIsReceiveReady(session))
        Py_RETURN_TRUE;
    return wait_or_cancel(self, self->read_event, ms, "cannot wait for the read event");
}

static PyObject *TunDevice_fileno(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        return NULL;
#ifdef _WIN32
    return wt_raise_class(state_of(self)->WintunError, ERROR_NOT_SUPPORTED,
                          "fileno() is not available on Windows (its events are no file descriptors): use "
                          "wait_read_event() or async_wait_read()");
#else
    return PyLong_FromLong(WintunGetEventFd(self->read_event));
#endif
}


/* ---- writing ---- */

/* The IP packet inside data: pymobiledevice3 prepends the Linux TUN packet-information header
 * (00 00 86 DD for IPv6, 00 00 08 00 for IPv4); a real IP packet never starts with a zero
 * version nibble, so it is stripped. Bytes that are no IPv4/IPv6 packet are written all the same:
 * the driver discards and counts them (stats.write_discards, a rate-limited WARN line), as
 * Wintun's does, so that one malformed frame from a peer never kills a tunnel pump. Only a
 * packet larger than any TUN carries is the caller's mistake: ValueError. In super-packet mode
 * a packet starts with its virtio-net header, which is never stripped. */
static int packet_of(TunDevice *self, Py_buffer *view, const char **data, Py_ssize_t *size)
{
    const unsigned char *p = view->buf;
    Py_ssize_t n = view->len;
    if (!self->super_packets && n >= 4 && p[0] == 0 && p[1] == 0 &&
        ((p[2] == 0x86 && p[3] == 0xDD) || (p[2] == 0x08 && p[3] == 0x00)))
        p += 4, n -= 4;
    if (n > TUN_MAX_IP_PACKET_SIZE) {
        PyErr_Format(PyExc_ValueError, "packet of %zd bytes is larger than %u", n, TUN_MAX_IP_PACKET_SIZE);
        return -1;
    }
    *data = (const char *)p;
    *size = n;
    return 0;
}

/* Sends packets[0..count) as a kernel TUN write does: what does not fit in the ring waits for
 * room, with the GIL released, up to write_timeout, and is then dropped and counted in
 * write_drops (on_full="drop", the default), or raises RingFullError if nothing went
 * (on_full="raise"). Returns how many packets it took (sent, or dropped and counted), or -1 with
 * an exception: the session ended, or RingFullError. */
static Py_ssize_t send_or_drop(TunDevice *self, WINTUN_SESSION_HANDLE session, const BYTE **packets, DWORD *sizes,
                               DWORD count, const char *what)
{
    /* The ring has room nearly always: one try with the GIL held, then the wait without it. */
    DWORD err = ERROR_SUCCESS, done = WintunSendPackets(session, packets, sizes, count);
    if (done < count && (done || (err = GetLastError()) == ERROR_BUFFER_OVERFLOW)) {
        const uint64_t wait_ns = (uint64_t)(self->write_timeout * 1e9);
        DWORD more;
        Py_BEGIN_ALLOW_THREADS
        more = wt_send_packets_waiting(session, packets + done, sizes + done, count - done, wait_ns, &err);
        Py_END_ALLOW_THREADS
        done += more;
    }
    if (done == count)
        return done;
    if (err != ERROR_BUFFER_OVERFLOW || (self->raise_on_full && !done)) {
        if (done)
            return done; /* the error comes again on the next call */
        wt_raise(state_of(self), err, what);
        return -1;
    }
    if (self->raise_on_full)
        return done;
    self->write_drops += count - done;
    return count;
}

static PyObject *TunDevice_write(TunDevice *self, PyObject *arg)
{
    if (PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "write() takes a bytes-like packet, not str");
        return NULL;
    }
    Py_buffer view;
    if (wt_get_buffer(arg, &view, 0, "the packet") < 0)
        return NULL;
    PyObject *result = NULL;
    const char *data;
    Py_ssize_t size;
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (session && packet_of(self, &view, &data, &size) == 0) {
        const BYTE *packet = (const BYTE *)data;
        DWORD packet_size = (DWORD)size;
        if (send_or_drop(self, session, &packet, &packet_size, 1, "cannot write the packet") >= 0)
            result = PyLong_FromSsize_t(size);
    }
    PyBuffer_Release(&view);
    return result;
}

/* The packets of an iterable as a tuple of their own (new reference), or NULL with TypeError. */
PyObject *packets_tuple(PyObject *arg, const char *expected)
{
    PyObject *it = PyObject_GetIter(arg);
    if (!it) {
        PyErr_Clear();
        return wt_type_error(expected, arg);
    }
    PyObject *tuple = PySequence_Tuple(it);
    Py_DECREF(it);
    return tuple;
}

static PyObject *TunDevice_write_batch(TunDevice *self, PyObject *arg)
{
    /* A tuple of its own: the items stay alive and in place whatever a buffer export does to the
     * caller's list meanwhile. */
    PyObject *seq = packets_tuple(arg, "write_batch() takes an iterable of bytes-like packets");
    if (!seq)
        return NULL;
    Py_ssize_t count = PyTuple_Size(seq), held = 0;
    PyObject *result = NULL;
    Py_buffer *views = PyMem_Calloc((size_t)(count ? count : 1), sizeof(Py_buffer));
    const BYTE **packets = PyMem_Calloc((size_t)(count ? count : 1), sizeof(BYTE *));
    DWORD *sizes = PyMem_Calloc((size_t)(count ? count : 1), sizeof(DWORD));
    if (!views || !packets || !sizes) {
        PyErr_NoMemory();
        goto out;
    }
    /* Check every packet before writing any, so that a bad one writes nothing. */
    for (; held < count; ++held) {
        PyObject *item = PyTuple_GetItem(seq, held);
        const char *data;
        Py_ssize_t size;
        if (PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "packet %zd is a str, not bytes-like", held);
            goto out;
        }
        if (wt_get_buffer(item, &views[held], 0, "every packet") < 0)
            goto out;
        if (packet_of(self, &views[held], &data, &size) < 0) {
            ++held;
            PyErr_Format(PyExc_ValueError, "packet %zd is larger than %u bytes", held - 1, TUN_MAX_IP_PACKET_SIZE);
            goto out;
        }
        packets[held] = (const BYTE *)data;
        sizes[held] = (DWORD)size;
    }
    WINTUN_SESSION_HANDLE session = session_of(self);
    if (!session)
        goto out;
    if (!count) {
        result = PyLong_FromLong(0);
        goto out;
    }
    Py_ssize_t taken = send_or_drop(self, session, packets, sizes, (DWORD)count, "cannot write the packets");
    if (taken >= 0)
        result = PyLong_FromSsize_t(taken); /* fewer than given only with on_full="raise" */
out:
    for (Py_ssize_t i = 0; i < held; ++i)
        PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(packets);
    PyMem_Free(sizes);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef TunDevice_methods[] = {
    { "up", (PyCFunction)TunDevice_up, METH_NOARGS,
      "up()\n--\n\nBring the adapter up and start its session with ring_capacity. No-op if already up." },
    { "down", (PyCFunction)TunDevice_down, METH_NOARGS,
      "down()\n--\n\nEnd the session (waking any thread in wait_read_event) and bring the adapter down. No-op if down." },
    { "close", (PyCFunction)TunDevice_close, METH_NOARGS,
      "close()\n--\n\nEnd the session and remove the adapter. Idempotent." },
    { "__enter__", (PyCFunction)TunDevice_enter, METH_NOARGS, NULL },
    { "__exit__", (PyCFunction)TunDevice_exit, METH_VARARGS, NULL },
    { "read", (PyCFunction)TunDevice_read, METH_NOARGS,
      "read()\n--\n\nThe next packet as bytes, or None if none is waiting. Never blocks." },
    { "read_batch", (PyCFunction)(void (*)(void))TunDevice_read_batch, METH_VARARGS | METH_KEYWORDS,
      "read_batch(max=64)\n--\n\nUp to max waiting packets as a list of bytes (empty if none)." },
    { "readinto", (PyCFunction)TunDevice_readinto, METH_O,
      "readinto(buffer)\n--\n\nCopy the next packet into a writable buffer; its size, or None if none is waiting.\n"
      "ValueError if it does not fit (the packet stays for the next read)." },
    { "write", (PyCFunction)TunDevice_write, METH_O,
      "write(packet)\n--\n\nSend one IPv4/IPv6 packet (bytes-like; a leading 4-byte TUN packet-information header is\n"
      "stripped). Returns its size. RingFullError if the ring has no room." },
    { "write_batch", (PyCFunction)TunDevice_write_batch, METH_O,
      "write_batch(packets)\n--\n\nSend packets in order; returns how many were written (fewer when the ring fills;\n"
      "RingFullError if none fit). All are checked first: a bad one writes nothing." },
    { "wait_read_event", (PyCFunction)(void (*)(void))TunDevice_wait_read_event, METH_VARARGS | METH_KEYWORDS,
      "wait_read_event(timeout=None)\n--\n\nWait (GIL released) until a packet may be read: True; False on timeout or\n"
      "when down()/close() ends the session meanwhile." },
#ifndef _WIN32
    { "_wait_fd", (PyCFunction)TunDevice_wait_fd, METH_NOARGS, NULL },
    { "_wait_done", (PyCFunction)TunDevice_wait_done, METH_O, NULL },
#endif
    { "fileno", (PyCFunction)TunDevice_fileno, METH_NOARGS,
      "fileno()\n--\n\nA file descriptor readable while a packet may be waiting (Linux), for selectors and asyncio.\n"
      "Valid until down(); read() until None before waiting on it." },
    { "_addresses", (PyCFunction)TunDevice_addresses_raw, METH_NOARGS, NULL },
    { "_netns_fds", (PyCFunction)TunDevice_netns_fds, METH_NOARGS, NULL },
    { "_add_address", (PyCFunction)TunDevice_add_address_raw, METH_VARARGS, NULL },
    { "_delete_address", (PyCFunction)TunDevice_delete_address_raw, METH_VARARGS, NULL },
    { "_statistics", (PyCFunction)TunDevice_statistics_raw, METH_NOARGS, NULL },
    { "_emu_inject", (PyCFunction)TunDevice_emu_inject, METH_O, NULL },
    { "_emu_capture", (PyCFunction)TunDevice_emu_capture, METH_NOARGS, NULL },
    { "_emu_wait_capture", (PyCFunction)TunDevice_emu_wait_capture, METH_O, NULL },
    { "_emu_connect", (PyCFunction)TunDevice_emu_connect, METH_O, NULL },
    { "_emu_disconnect", (PyCFunction)TunDevice_emu_disconnect, METH_NOARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static PyObject *TunDevice_get_on_full(TunDevice *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(self->raise_on_full ? "raise" : "drop");
}

static int TunDevice_set_on_full(TunDevice *self, PyObject *value, void *c)
{
    (void)c;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "on_full cannot be deleted");
        return -1;
    }
    return set_on_full(self, value);
}

static PyObject *TunDevice_get_write_timeout(TunDevice *self, void *c)
{
    (void)c;
    return PyFloat_FromDouble(self->write_timeout);
}

static int TunDevice_set_write_timeout(TunDevice *self, PyObject *value, void *c)
{
    (void)c;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "write_timeout cannot be deleted");
        return -1;
    }
    return set_write_timeout(self, value);
}

static PyGetSetDef TunDevice_getset[] = {
    { "name", (getter)TunDevice_get_name, NULL, "The adapter's name, as given (up to 127 characters).", NULL },
    { "ifname", (getter)TunDevice_get_ifname, NULL,
      "The kernel's name of the interface (Linux: name itself when it is at most 15 bytes, else one derived from it, "
      "the full name being an alternative name), or None where there is no Linux interface (emulated, Windows).",
      NULL },
    { "tunnel_type", (getter)TunDevice_get_tunnel_type, NULL, "The tunnel type given at creation.", NULL },
    { "backend", (getter)TunDevice_get_backend, NULL, "'kernel' or 'emulated'.", NULL },
    { "netns", (getter)TunDevice_get_netns, NULL, "The network namespace asked for (kernel backend), or None.", NULL },
    { "luid", (getter)TunDevice_get_luid, NULL, "The NET_LUID as an int (IfType 53 << 48 | NetLuidIndex << 24).", NULL },
    { "_guid", (getter)TunDevice_get_guid_str, NULL, NULL, NULL },
    { "mtu", (getter)TunDevice_get_mtu, (setter)TunDevice_set_mtu, "The MTU, read from and written to the OS.", NULL },
    { "ring_capacity", (getter)TunDevice_get_ring_capacity, (setter)TunDevice_set_ring_capacity,
      "Bytes per ring: a power of two in [0x20000, 0x4000000]. Takes effect at the next up().", NULL },
    { "offload", (getter)TunDevice_get_offload, (setter)TunDevice_set_offload,
      "How a kernel adapter on Linux uses the TUN offloads: 'transparent' (default: the kernel's TCP/UDP "
      "super-packets are cut into ordinary packets, and what you write is merged back; nothing changes for you), "
      "'super_packets' (offload=True: each packet read or written has a 10-byte virtio-net header first, and may "
      "be a super-packet of up to 64 KiB; see split_super_packet) or 'none' (offload=False). Changes while down.",
      NULL },
    { "kernel_offloads", (getter)TunDevice_get_kernel_offloads, NULL,
      "The TUN_F_* flags the kernel has on (TUN_F_CSUM 1, TSO4 2, TSO6 4, USO4 0x20, USO6 0x40), 0 without.", NULL },
    { "is_up", (getter)TunDevice_get_is_up, NULL, "True while the adapter is up with a running session.", NULL },
    { "closed", (getter)TunDevice_get_closed, NULL, "True once close() was called.", NULL },
    { "on_full", (getter)TunDevice_get_on_full, (setter)TunDevice_set_on_full,
      "'drop' (default): a write that finds the ring full for write_timeout drops the packet and counts it in "
      "stats.write_drops, as a kernel TUN write does; 'raise': RingFullError instead.", NULL },
    { "write_timeout", (getter)TunDevice_get_write_timeout, (setter)TunDevice_set_write_timeout,
      "Seconds (default 0.05, at most 10) a write waits, with the GIL released, for room in a full ring.", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyMemberDef TunDevice_members[] = {
    { "__weaklistoffset__", T_PYSSIZET, offsetof(TunDevice, weakreflist), READONLY, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyType_Slot TunDevice_slots[] = {
    { Py_tp_doc, "TunDevice(name='wintun', tunnel_type='Wintun', ring_capacity=0x400000, guid=None, *, backend='auto', netns=None)\n"
                 "--\n\nA Wintun adapter (created now, removed by close()) and its session (up()/down())." },
    { Py_tp_new, TunDevice_new },
    { Py_tp_init, TunDevice_init },
    { Py_tp_dealloc, TunDevice_dealloc },
    { Py_tp_traverse, TunDevice_traverse },
    { Py_tp_methods, TunDevice_methods },
    { Py_tp_getset, TunDevice_getset },
    { Py_tp_members, TunDevice_members },
    { 0, NULL },
};

static PyType_Spec TunDevice_spec = {
    .name = "wintun._wintun.TunDevice",
    .basicsize = sizeof(TunDevice),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = TunDevice_slots,
};

PyTypeObject *wt_tundevice_type_create(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &TunDevice_spec, NULL);
}
