/* SPDX-License-Identifier: MIT
 * A DLL with only two of Wintun's 14 exports, for the loader's missing-export test. */
#include <windows.h>

__declspec(dllexport) void WintunCreateAdapter(void) {}
__declspec(dllexport) void WintunOpenAdapter(void) {}
