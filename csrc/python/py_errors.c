/* SPDX-License-Identifier: MIT
 *
 * Exceptions: WintunError(OSError) carries .winerror (the Win32 code) and .errno (its POSIX
 * counterpart); one subclass per kind of failure, each also a subclass of the matching built-in
 * OSError subclass, so `except BlockingIOError` or `except PermissionError` work too.
 */
#include "pywintun.h"
#include "logger.h"
#include "platform.h"

#include <errno.h>

struct error_class
{
    const char *name;
    size_t offset;       /* in wt_state */
    const char *builtin; /* the name of a built-in exception as second base, or NULL (a name: the
                          * address of PyExc_* is no constant where Python is a DLL) */
    const char *doc;
};

#define ST(field) offsetof(wt_state, field)

static PyObject **field(wt_state *st, size_t offset) { return (PyObject **)((char *)st + offset); }

/* The subclasses of WintunError, each in its wt_state field. */
static const struct error_class classes[] = {
    { "RingFullError", ST(RingFullError), "BlockingIOError",
      "The ring has no room for the packet (ERROR_BUFFER_OVERFLOW): retry once the other side caught up." },
    { "AdapterClosedError", ST(AdapterClosedError), NULL,
      "The adapter or its session is closed, down, or gone (ERROR_HANDLE_EOF and friends)." },
    { "InvalidRingDataError", ST(InvalidRingDataError), NULL,
      "The ring's contents are corrupt (ERROR_INVALID_DATA); the session cannot go on." },
    { "NotPermittedError", ST(NotPermittedError), "PermissionError",
      "The OS refused for lack of privilege (ERROR_ACCESS_DENIED)." },
    { "AlreadyExistsError", ST(AlreadyExistsError), "FileExistsError",
      "The adapter name, GUID or address is already in use." },
    { "NotFoundError", ST(NotFoundError), "FileNotFoundError", "No such adapter or address." },
};
#define CLASS_COUNT (sizeof(classes) / sizeof(classes[0]))

int wt_errors_init(PyObject *module, wt_state *st)
{
    st->WintunError = PyErr_NewExceptionWithDoc("wintun.WintunError",
                                                "A Wintun operation failed. .winerror holds the Win32 error code, .errno "
                                                "its POSIX counterpart, and the message the reason.",
                                                PyExc_OSError, NULL);
    if (!st->WintunError || PyModule_AddObjectRef(module, "WintunError", st->WintunError) < 0)
        return -1;
    for (size_t i = 0; i < CLASS_COUNT; ++i) {
        char qualified[64];
        PyOS_snprintf(qualified, sizeof(qualified), "wintun.%s", classes[i].name);
        PyObject *builtin = NULL;
        if (classes[i].builtin && !(builtin = PyDict_GetItemString(PyEval_GetBuiltins(), classes[i].builtin))) {
            PyErr_Format(PyExc_SystemError, "no built-in %s", classes[i].builtin);
            return -1;
        }
        PyObject *bases = builtin ? PyTuple_Pack(2, st->WintunError, builtin) : PyTuple_Pack(1, st->WintunError);
        if (!bases)
            return -1;
        PyObject *cls = PyErr_NewExceptionWithDoc(qualified, classes[i].doc, bases, NULL);
        Py_DECREF(bases);
        if (!cls)
            return -1;
        *field(st, classes[i].offset) = cls;
        if (PyModule_AddObjectRef(module, classes[i].name, cls) < 0)
            return -1;
    }
    return 0;
}

int wt_errors_traverse(wt_state *st, visitproc visit, void *arg)
{
    Py_VISIT(st->WintunError);
    for (size_t i = 0; i < CLASS_COUNT; ++i)
        Py_VISIT(*field(st, classes[i].offset));
    return 0;
}

void wt_errors_clear(wt_state *st)
{
    Py_CLEAR(st->WintunError);
    for (size_t i = 0; i < CLASS_COUNT; ++i)
        Py_CLEAR(*field(st, classes[i].offset));
}

static int errno_for(DWORD winerror)
{
    switch (winerror) {
    case ERROR_BUFFER_OVERFLOW:
        return EAGAIN;
    case ERROR_HANDLE_EOF:
        return EPIPE;
    case ERROR_DEV_NOT_EXIST:
        return ENODEV;
    case ERROR_INVALID_HANDLE:
        return EBADF;
    case ERROR_INVALID_DATA:
        return EBADMSG;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
        return EPERM;
    case ERROR_ALREADY_EXISTS:
    case ERROR_OBJECT_ALREADY_EXISTS:
        return EEXIST;
    case ERROR_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
        return ENOENT;
    case ERROR_INVALID_PARAMETER:
        return EINVAL;
    case ERROR_NOT_SUPPORTED:
        return EOPNOTSUPP;
    case ERROR_ALREADY_INITIALIZED:
    case ERROR_BUSY:
        return EBUSY;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return ENOMEM;
    case ERROR_NOT_READY:
        return ENOTCONN;
    case ERROR_TOO_MANY_OPEN_FILES:
        return EMFILE;
    case ERROR_MAX_THRDS_REACHED:
        return EAGAIN;
    default:
        return EIO;
    }
}

static PyObject *class_for(wt_state *st, DWORD winerror)
{
    switch (winerror) {
    case ERROR_BUFFER_OVERFLOW:
        return st->RingFullError;
    case ERROR_HANDLE_EOF:
    case ERROR_DEV_NOT_EXIST:
    case ERROR_INVALID_HANDLE:
    case ERROR_NOT_READY:
        return st->AdapterClosedError;
    case ERROR_INVALID_DATA:
        return st->InvalidRingDataError;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
        return st->NotPermittedError;
    case ERROR_ALREADY_EXISTS:
    case ERROR_OBJECT_ALREADY_EXISTS:
        return st->AlreadyExistsError;
    case ERROR_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
        return st->NotFoundError;
    default:
        return st->WintunError;
    }
}

PyObject *wt_raise_class(PyObject *cls, DWORD winerror, const char *message)
{
    PyObject *exc = PyObject_CallFunction(cls, "is", errno_for(winerror), message);
    if (!exc)
        return NULL;
    PyObject *code = PyLong_FromUnsignedLong(winerror);
    if (!code || PyObject_SetAttrString(exc, "winerror", code) < 0) {
        Py_XDECREF(code);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

/* What a code means in this library's own calls, where Windows' text for it would mislead (code
 * 111 is "The file name is too long" to Windows; here it is a full ring). NULL: Windows' text. */
static const char *own_text(DWORD winerror)
{
    switch (winerror) {
    case ERROR_BUFFER_OVERFLOW:
        return "the ring is full";
    case ERROR_HANDLE_EOF:
        return "the session has ended (the adapter was closed, went down or was removed)";
    case ERROR_NO_MORE_ITEMS:
        return "no packet is waiting";
    case ERROR_INVALID_DATA:
        return "the ring's contents are corrupt";
    case ERROR_INVALID_HANDLE:
        return "the adapter or session is closed";
    case ERROR_DEV_NOT_EXIST:
        return "the adapter has been removed";
    case ERROR_NOT_READY:
        return "the adapter is down";
    case ERROR_TOO_MANY_OPEN_FILES:
        return "too many open files: the process or the system has no file descriptor left";
    case ERROR_MAX_THRDS_REACHED:
        return "no more threads can be created: a limit on threads or on memory for their stacks was reached";
    default:
        return NULL;
    }
}

PyObject *wt_raise(wt_state *st, DWORD winerror, const char *what)
{
    char message[WT_LOG_MAX_CHARS + 128];
    const char *detail = wt_log_last_error(), *own = own_text(winerror);
    if (detail[0]) {
        PyOS_snprintf(message, sizeof(message), "%s: %s", what, detail);
    } else if (own) {
        PyOS_snprintf(message, sizeof(message), "%s: %s (Code 0x%08lX)", what, own, (unsigned long)winerror);
    } else {
        char text[256];
        wt_error_text(winerror, text, sizeof(text));
        PyOS_snprintf(message, sizeof(message), "%s: %s (Code 0x%08lX)", what, text[0] ? text : "error",
                      (unsigned long)winerror);
    }
    wt_log_clear_last();
    return wt_raise_class(class_for(st, winerror), winerror, message);
}
