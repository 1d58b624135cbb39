/* SPDX-License-Identifier: MIT
 *
 * The bridge from WintunSetLogger to Python: callback(level, timestamp, message), called from
 * whichever thread logs, with the GIL taken for the call. The module keeps its own strong
 * reference to the callable. An exception raised by the callback goes to sys.unraisablehook and
 * goes no further. Nothing is called once the interpreter is finalizing.
 */
#include "pywintun.h"
#include "atomic.h"

static PyObject *py_logger; /* strong reference; changed with the GIL held */
static int logger_shutdown;

static int interpreter_alive(void)
{
    if (!Py_IsInitialized() || wt_atomic_load(&logger_shutdown, WT_ACQUIRE))
        return 0;
#if !defined(Py_LIMITED_API)
#if PY_VERSION_HEX >= 0x030D0000
    return !Py_IsFinalizing();
#else
    return !_Py_IsFinalizing();
#endif
#else
    return 1; /* the package's atexit hook (shutdown) ran before finalization could start */
#endif
}

static void CALLBACK bridge(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    if (!interpreter_alive())
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *cb = py_logger;
    if (cb) {
        Py_INCREF(cb);
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb); /* a pending exception of the caller survives */
        PyObject *text = PyUnicode_FromWideChar(message, -1);
        PyObject *result = text ? PyObject_CallFunction(cb, "iKO", (int)level, (unsigned long long)timestamp, text) : NULL;
        if (!result)
            PyErr_WriteUnraisable(cb);
        Py_XDECREF(result);
        Py_XDECREF(text);
        Py_DECREF(cb);
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    PyGILState_Release(gil);
}

PyObject *wt_py_set_logger(PyObject *module, PyObject *callback)
{
    (void)module;
    if (callback != Py_None && !PyCallable_Check(callback)) {
        return wt_type_error("set_logger() takes a callable or None", callback);
    }
    PyObject *old = py_logger;
    if (callback == Py_None) {
        py_logger = NULL;
        WintunSetLogger(NULL);
    } else {
        Py_INCREF(callback);
        py_logger = callback;
        WintunSetLogger(bridge);
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

void wt_logger_shutdown(void)
{
    wt_atomic_store(&logger_shutdown, 1, WT_RELEASE);
    WintunSetLogger(NULL);
    Py_CLEAR(py_logger);
}
