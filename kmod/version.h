/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The version's one source: MODULE_VERSION, STATUS_GET's VERSION, the
 * Makefile's VERSION, and through it the DKMS package's (dkms.conf says
 * #MODULE_VERSION#, which "make dkms-install" and dh_dkms fill in).
 */
#ifndef VR_VERSION_H
#define VR_VERSION_H

#define VR_VERSION "0.1.0"

#endif /* VR_VERSION_H */
