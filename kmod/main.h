/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 */
#ifndef VR_MAIN_H
#define VR_MAIN_H

#define VR_CONFIG_ERROR_SIZE	192

/* Why the parameters were rejected at load, or "". Set once in init. */
extern char vr_config_error[VR_CONFIG_ERROR_SIZE];

#endif /* VR_MAIN_H */
