/* SPDX-License-Identifier: MIT
 *
 * wintun._wintun: module state, constants, set_logger, get_driver_version.
 * Multi-phase initialisation; the logger is process-wide, like Wintun's.
 */
#include "pywintun.h"
#include "logger.h"

/* PyType_GetModuleByDef is not in the Stable ABI before 3.13: the MRO is walked instead, once
 * per TunDevice (which keeps the result). */
wt_state *wt_state_of_type(PyTypeObject *type)
{
    PyObject *mro = PyObject_GetAttrString((PyObject *)type, "__mro__");
    if (!mro)
        return NULL;
    wt_state *st = NULL;
    Py_ssize_t n = PyTuple_Check(mro) ? PyTuple_Size(mro) : 0;
    for (Py_ssize_t i = 0; i < n && !st; ++i) {
        PyObject *base = PyTuple_GetItem(mro, i);
        if (!PyType_Check(base) || !(PyType_GetFlags((PyTypeObject *)base) & Py_TPFLAGS_HEAPTYPE))
            continue;
        PyObject *module = PyType_GetModule((PyTypeObject *)base); /* borrowed */
        if (!module) {
            PyErr_Clear(); /* a class defined in Python */
            continue;
        }
        if (PyModule_GetDef(module) == &wt_module_def)
            st = wt_state_of_module(module);
    }
    Py_DECREF(mro);
    if (!st)
        PyErr_SetString(PyExc_TypeError, "not a subclass of wintun's TunDevice");
    return st;
}

PyObject *wt_type_error(const char *expected, PyObject *value)
{
    PyObject *type = PyObject_Type(value);
    PyObject *name = type ? PyType_GetName((PyTypeObject *)type) : NULL;
    Py_XDECREF(type);
    if (!name)
        return NULL;
    PyErr_Format(PyExc_TypeError, "%s, not %U", expected, name);
    Py_DECREF(name);
    return NULL;
}

int wt_get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) == 0)
        return 0;
    if (PyErr_ExceptionMatches(PyExc_BufferError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s bytes-like object", what, writable ? ", writable" : "");
    }
    return -1;
}

static PyObject *set_logger(PyObject *module, PyObject *callback)
{
    return wt_py_set_logger(module, callback);
}

static PyObject *get_driver_version(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    wt_log_clear_last();
    DWORD version = WintunGetRunningDriverVersion();
    if (!version)
        return wt_raise(wt_state_of_module(module), GetLastError(), "cannot read the driver version");
    return PyLong_FromUnsignedLong(version);
}

/* load_dll(path=None): which wintun.dll the kernel backend uses (Windows). */
static PyObject *load_dll(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "path", NULL };
    PyObject *path = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:load_dll", kwlist, &path))
        return NULL;
    PyObject *text = NULL;
    if (path != Py_None && !(text = PyOS_FSPath(path)))
        return NULL;
    if (text && !PyUnicode_Check(text)) {
        Py_DECREF(text);
        return wt_type_error("load_dll() takes a str path, an os.PathLike or None", path);
    }
    wchar_t *wide = text ? PyUnicode_AsWideCharString(text, NULL) : NULL;
    Py_XDECREF(text);
    if (text && !wide)
        return NULL;
    wt_log_clear_last();
    BOOL ok;
    Py_BEGIN_ALLOW_THREADS /* LoadLibrary takes the loader lock */
    ok = WintunLoadDll(wide);
    Py_END_ALLOW_THREADS
    DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    PyMem_Free(wide);
    if (!ok)
        return wt_raise(wt_state_of_module(module), err, "cannot load wintun.dll");
    Py_RETURN_NONE;
}

static PyObject *module_shutdown(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    wt_logger_shutdown();
    Py_RETURN_NONE;
}

/* For the benchmarks: the cost of making a bytes object of a given size in C, and of taking a
 * bytes-like argument, with nothing else, to compare read() and write() against. */
static PyObject *bench_bytes(PyObject *module, PyObject *arg)
{
    (void)module;
    static const char zeros[0x10000];
    Py_ssize_t size = PyLong_AsSsize_t(arg);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0 || size > (Py_ssize_t)sizeof(zeros)) {
        PyErr_SetString(PyExc_ValueError, "size out of range");
        return NULL;
    }
    return PyBytes_FromStringAndSize(zeros, size);
}

static PyObject *bench_buffer(PyObject *module, PyObject *arg)
{
    (void)module;
    static char sink[0x10000];
    Py_buffer view;
    if (wt_get_buffer(arg, &view, 0, "the buffer") < 0)
        return NULL;
    Py_ssize_t n = view.len < (Py_ssize_t)sizeof(sink) ? view.len : (Py_ssize_t)sizeof(sink);
    memcpy(sink, view.buf, (size_t)n);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(n);
}

#ifndef _WIN32
#include "platform.h"
#include <errno.h>
#include <sched.h>
/* setns(2) for run_in_netns (os.setns is Python 3.12+). */
static PyObject *py_setns(PyObject *module, PyObject *args)
{
    (void)module;
    int fd, nstype;
    if (!PyArg_ParseTuple(args, "ii:_setns", &fd, &nstype))
        return NULL;
    if (setns(fd, nstype) < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}
#endif

#ifndef _WIN32
/* For the benchmarks: a plain C loop of read() / write() on a raw TUN fd, GIL released, to compare
 * the Python paths against. Returns (packets, seconds). */
#include <poll.h>
#include <unistd.h>
static PyObject *bench_read_fd(PyObject *module, PyObject *args)
{
    (void)module;
    int fd;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "in:_bench_read_fd", &fd, &count))
        return NULL;
    static char buffer[0x10000];
    Py_ssize_t done = 0;
    uint64_t start = wt_monotonic_ns(), idle_since = 0;
    Py_BEGIN_ALLOW_THREADS
    while (done < count) {
        if (read(fd, buffer, sizeof(buffer)) >= 0) {
            ++done;
            idle_since = 0;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            break;
        uint64_t now = wt_monotonic_ns();
        if (!idle_since)
            idle_since = now;
        else if (now - idle_since > 500000000ULL)
            break; /* nothing for 0.5 s: the rest was dropped */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, 100);
    }
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(nd)", done, (double)(wt_monotonic_ns() - start) / 1e9);
}

static PyObject *bench_write_fd(PyObject *module, PyObject *args)
{
    (void)module;
    int fd;
    Py_buffer packet;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "iy*n:_bench_write_fd", &fd, &packet, &count))
        return NULL;
    Py_ssize_t done = 0;
    uint64_t start = wt_monotonic_ns();
    Py_BEGIN_ALLOW_THREADS
    for (; done < count; ++done)
        if (write(fd, packet.buf, (size_t)packet.len) < 0 && errno != EAGAIN)
            break;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&packet);
    return Py_BuildValue("(nd)", done, (double)(wt_monotonic_ns() - start) / 1e9);
}
#endif

static PyMethodDef module_methods[] = {
#ifndef _WIN32
    { "_setns", py_setns, METH_VARARGS, NULL },
    { "_bench_read_fd", bench_read_fd, METH_VARARGS, NULL },
    { "_bench_write_fd", bench_write_fd, METH_VARARGS, NULL },
#endif
    { "set_logger", set_logger, METH_O,
      "set_logger(callback)\n--\n\nCall callback(level, timestamp, message) for each log line, from any thread;\n"
      "None turns the C logger off. timestamp is a FILETIME (100 ns since 1601-01-01 UTC)." },
    { "get_driver_version", get_driver_version, METH_NOARGS,
      "get_driver_version()\n--\n\nThe running driver's version as (major << 16) | minor." },
    { "load_dll", (PyCFunction)(void (*)(void))load_dll, METH_VARARGS | METH_KEYWORDS,
      "load_dll(path=None)\n--\n\nWindows: load the official wintun.dll kernel adapters go through, from path, or (None)\n"
      "from WINTUN_DLL, else the package's folder, the application's folder, System32. Without\n"
      "this call the first kernel adapter loads it the default way. Elsewhere: WintunError\n"
      "(winerror 50, ERROR_NOT_SUPPORTED): the kernel backend is the system's TUN device." },
    { "_shutdown", module_shutdown, METH_NOARGS, NULL },
    { "_bench_bytes", bench_bytes, METH_O, NULL },
    { "_bench_buffer", bench_buffer, METH_O, NULL },
    { NULL, NULL, 0, NULL },
};

static int module_exec(PyObject *module)
{
    wt_state *st = wt_state_of_module(module);
    if (wt_errors_init(module, st) < 0)
        return -1;
    st->TunDeviceType = wt_tundevice_type_create(module);
    if (!st->TunDeviceType || PyModule_AddType(module, st->TunDeviceType) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "LOG_INFO", WINTUN_LOG_INFO) < 0 ||
        PyModule_AddIntConstant(module, "LOG_WARN", WINTUN_LOG_WARN) < 0 ||
        PyModule_AddIntConstant(module, "LOG_ERR", WINTUN_LOG_ERR) < 0 ||
        PyModule_AddIntConstant(module, "MIN_RING_CAPACITY", WINTUN_MIN_RING_CAPACITY) < 0 ||
        PyModule_AddIntConstant(module, "MAX_RING_CAPACITY", WINTUN_MAX_RING_CAPACITY) < 0 ||
        PyModule_AddIntConstant(module, "MAX_IP_PACKET_SIZE", WINTUN_MAX_IP_PACKET_SIZE) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    wt_state *st = wt_state_of_module(module);
    Py_VISIT(st->TunDeviceType);
    return wt_errors_traverse(st, visit, arg);
}

static int module_clear(PyObject *module)
{
    wt_state *st = wt_state_of_module(module);
    Py_CLEAR(st->TunDeviceType);
    wt_errors_clear(st);
    return 0;
}

static void module_free(void *module)
{
    wt_logger_shutdown();
    module_clear(module);
}

static PyModuleDef_Slot module_slots[] = {
    { Py_mod_exec, module_exec },
    { 0, NULL },
};

PyModuleDef wt_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "wintun._wintun",
    .m_doc = "Wintun's session API and driver half, in C. Use the wintun package.",
    .m_size = sizeof(wt_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__wintun(void)
{
    return PyModuleDef_Init(&wt_module_def);
}
