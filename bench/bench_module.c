/* SPDX-License-Identifier: MIT
 *
 * _wintun_bench: what the benchmarks compare wintun against, in C, never shipped (make bench and
 * the tests build it into build/bench/): the cost of making a bytes object and of taking a
 * bytes-like argument, and plain read()/write() loops on a raw TUN descriptor with the GIL
 * released. Stable ABI, like the extension.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t n = view.len < (Py_ssize_t)sizeof(sink) ? view.len : (Py_ssize_t)sizeof(sink);
    memcpy(sink, view.buf, (size_t)n);
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(n);
}

/* Up to count packets read from fd; stops after 0.5 s without one. Returns (packets, seconds). */
static PyObject *bench_read_fd(PyObject *module, PyObject *args)
{
    (void)module;
    int fd;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "in:read_fd", &fd, &count))
        return NULL;
    static char buffer[0x10000];
    Py_ssize_t done = 0;
    uint64_t start = now_ns(), idle_since = 0;
    Py_BEGIN_ALLOW_THREADS
    while (done < count) {
        if (read(fd, buffer, sizeof(buffer)) >= 0) {
            ++done;
            idle_since = 0;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            break;
        uint64_t now = now_ns();
        if (!idle_since)
            idle_since = now;
        else if (now - idle_since > 500000000ULL)
            break; /* nothing for 0.5 s: the rest was dropped */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, 100);
    }
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(nd)", done, (double)(now_ns() - start) / 1e9);
}

/* packet written count times to fd. Returns (packets, seconds). */
static PyObject *bench_write_fd(PyObject *module, PyObject *args)
{
    (void)module;
    int fd;
    Py_buffer packet;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "iy*n:write_fd", &fd, &packet, &count))
        return NULL;
    Py_ssize_t done = 0;
    uint64_t start = now_ns();
    Py_BEGIN_ALLOW_THREADS
    for (; done < count; ++done)
        if (write(fd, packet.buf, (size_t)packet.len) < 0 && errno != EAGAIN)
            break;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&packet);
    return Py_BuildValue("(nd)", done, (double)(now_ns() - start) / 1e9);
}

static PyMethodDef methods[] = {
    { "bytes_of_size", bench_bytes, METH_O, NULL },
    { "take_buffer", bench_buffer, METH_O, NULL },
    { "read_fd", bench_read_fd, METH_VARARGS, NULL },
    { "write_fd", bench_write_fd, METH_VARARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static PyModuleDef_Slot slots[] = { { 0, NULL } };

static PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, .m_name = "_wintun_bench", .m_methods = methods, .m_slots = slots,
};

PyMODINIT_FUNC PyInit__wintun_bench(void) { return PyModuleDef_Init(&module_def); }
