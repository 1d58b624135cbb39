/* SPDX-License-Identifier: MIT
 *
 * The Win32 error code for an errno value (platform.h), the same on every platform.
 */
#include "platform.h"

#include <errno.h>

DWORD wt_win32_from_errno(int err)
{
    switch (err) {
    case 0:
        return ERROR_SUCCESS;
    case EPERM:
    case EACCES:
        return ERROR_ACCESS_DENIED;
    case ENOENT:
        return ERROR_FILE_NOT_FOUND;
    case ENOMEM:
    case ENOBUFS:
        return ERROR_NOT_ENOUGH_MEMORY;
    case EBADF:
        return ERROR_INVALID_HANDLE;
    case EINVAL:
    case ERANGE:
        return ERROR_INVALID_PARAMETER;
    case EEXIST:
        return ERROR_ALREADY_EXISTS;
    case EBUSY:
        return ERROR_BUSY;
    case EAGAIN:
        return ERROR_NO_MORE_ITEMS;
    case ENODEV:
    case ENXIO:
        return ERROR_DEV_NOT_EXIST;
    case ENOTSUP:
    case EAFNOSUPPORT:
        return ERROR_NOT_SUPPORTED;
    case EMFILE:
    case ENFILE:
        return ERROR_TOO_MANY_OPEN_FILES;
    case ENAMETOOLONG:
        return ERROR_INVALID_NAME;
    case ETIMEDOUT:
        return ERROR_TIMEOUT;
    case ENETUNREACH:
        return ERROR_NETWORK_UNREACHABLE;
    default:
        return ERROR_GEN_FAILURE;
    }
}
