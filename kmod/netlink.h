/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 */
#ifndef VR_NETLINK_H
#define VR_NETLINK_H

#include <linux/pci.h>

#include "uapi/linux/vfio_reserve.h"

int vr_nl_init(void);
void vr_nl_exit(void);
void vr_nl_event(enum vfio_reserve_event kind, struct pci_dev *pdev,
		 const char *driver, const char *rule);

#endif /* VR_NETLINK_H */
