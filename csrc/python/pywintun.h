/* SPDX-License-Identifier: MIT
 *
 * The CPython extension wintun._wintun: shared declarations of its files.
 *   py_module.c     module init, state, constants, set_logger, get_driver_version
 *   py_errors.c     exception classes and raising them from Win32 codes
 *   py_logger.c     the bridge from WintunSetLogger to a Python callable
 *   py_tundevice.c  the TunDevice type
 */
#ifndef WINTUN_PYWINTUN_H
#define WINTUN_PYWINTUN_H

/* The Stable ABI of 3.11 (abi3): one build serves every later CPython. setup.py defines
 * Py_LIMITED_API; the code keeps to it either way. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "wintun_ext.h"
#include "emulated.h"

typedef struct
{
    PyObject *WintunError;
    PyObject *RingFullError;
    PyObject *AdapterClosedError;
    PyObject *InvalidRingDataError;
    PyObject *NotPermittedError;
    PyObject *AlreadyExistsError;
    PyObject *NotFoundError;
    PyTypeObject *TunDeviceType;
} wt_state;

extern PyModuleDef wt_module_def;

static inline wt_state *wt_state_of_module(PyObject *module) { return (wt_state *)PyModule_GetState(module); }
/* The state of the module that defines type (works for subclasses too), or NULL with TypeError. */
wt_state *wt_state_of_type(PyTypeObject *type);

/* Raises TypeError "<expected>, not <type of value>"; returns NULL. */
PyObject *wt_type_error(const char *expected, PyObject *value);

/* PyObject_GetBuffer, C-contiguous (and writable if asked); what the buffer cannot give is a
 * TypeError "<what> must be ...", never a BufferError. */
int wt_get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *what);

/* py_errors.c */
int wt_errors_init(PyObject *module, wt_state *st);
int wt_errors_traverse(wt_state *st, visitproc visit, void *arg);
void wt_errors_clear(wt_state *st);
/* Raises the exception class for a Win32 code with "what: explanation"; the explanation is the
 * library's last ERR line on this thread if there is one, else the system's text. Returns NULL. */
PyObject *wt_raise(wt_state *st, DWORD winerror, const char *what);
PyObject *wt_raise_class(PyObject *cls, DWORD winerror, const char *message);

/* py_logger.c */
PyObject *wt_py_set_logger(PyObject *module, PyObject *callback);
void wt_logger_shutdown(void);

/* py_tundevice.c */
PyTypeObject *wt_tundevice_type_create(PyObject *module);

#endif
