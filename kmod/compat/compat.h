/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Everything that differs between kernels, force-included in every file of
 * the module so the .c files stay free of version checks. VR_HAVE_* come
 * from the feature probes in Kbuild, which look at the headers of the
 * kernel being built for (a distribution backport shows there, a version
 * number would not).
 *
 * Supported: Linux 6.1 and later (tested on Debian 12's 6.1). Older kernels
 * lack driver_set_override(), iommu_group_dma_owner_claimed() or strict
 * generic netlink validation (resv_start_op) and are refused here, by the
 * same probes rather than by a version number.
 */
#ifndef VR_COMPAT_H
#define VR_COMPAT_H

/* Every message of the module starts with its name. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#ifndef VR_HAVE_GENL_RESV_START_OP
#error "vfio_reserve needs Linux 6.1 or later (generic netlink resv_start_op)"
#endif

#ifndef VR_HAVE_PCI_DRIVER_OVERRIDE
#error "struct pci_dev has no driver_override on this kernel: vfio_reserve needs porting"
#endif

/*
 * Isolated MSI: irq_domain_check_msi_remap() became per device,
 * msi_device_has_isolated_msi(), in 6.3.
 */
#ifdef VR_HAVE_MSI_DEVICE_HAS_ISOLATED_MSI
#define vr_msi_isolated(dev)	msi_device_has_isolated_msi(dev)
#else
#define vr_msi_isolated(dev)	irq_domain_check_msi_remap()
#endif

/*
 * Names of pci_reset_fn_methods[] (drivers/pci/pci.c) by index, as sysfs
 * reset_method prints them; 6.7 appended cxl_bus.
 */
#ifdef VR_HAVE_RESET_CXL_BUS
#define VR_RESET_METHOD_NAMES { "", "device_specific", "acpi", "flr", \
				"af_flr", "pm", "bus", "cxl_bus" }
#else
#define VR_RESET_METHOD_NAMES { "", "device_specific", "acpi", "flr", \
				"af_flr", "pm", "bus" }
#endif

#endif /* VR_COMPAT_H */
