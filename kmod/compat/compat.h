/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Everything that differs between kernels, force-included in every file of
 * the module so the .c files stay free of version checks. VR_HAVE_* come
 * from the feature probes in Kbuild, one per upstream change, which look at
 * the headers of the kernel being built for: a distribution backport shows
 * there, a version number would not.
 *
 * Tested: Debian 12's 6.1, the 6.12 LTS of bookworm-backports and the newest
 * 7.x of Debian's linux-source (selftests/kernels/README.md, dkms.conf's
 * BUILD_EXCLUSIVE_KERNEL). Older kernels lack iommu_group_dma_owner_claimed()
 * or strict generic netlink validation (resv_start_op) and are refused here,
 * by the same probes rather than by a version number.
 */
#ifndef VR_COMPAT_H
#define VR_COMPAT_H

/*
 * Every message of the module carries its name: "vfio_reserve: ..." and,
 * about a device, "<driver> 0000:01:00.0: vfio_reserve: ..." (pci_info()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define dev_fmt(fmt) pr_fmt(fmt)

#include <linux/device.h>
#ifdef VR_HAVE_LINUX_HEX_H
/* hex_to_bin(): in <linux/hex.h> where it exists, in <linux/kernel.h> before */
#include <linux/hex.h>
#endif
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#ifndef VR_HAVE_GENL_RESV_START_OP
#error "vfio_reserve needs Linux 6.1 or later (generic netlink resv_start_op)"
#endif

/*
 * driver_override. "driver core: generic driver_override infrastructure"
 * (7.1; backported to 6.12.y, 6.18.y and 7.0.y) moved it from struct
 * pci_dev into struct device, behind its own spinlock, set with
 * device_set_driver_override(); driver_set_override() went in 7.2. Before,
 * pci_dev->driver_override was set with driver_set_override() under the
 * device lock.
 *
 * vr_override_set(dev, name): set it, or clear it with NULL or "".
 * vr_override_copy(dev, buf, size): copy it into buf (truncated to size, ""
 * when none) and return its whole length. The caller holds the device lock
 * (the old kernels' rule; harmless with the new spinlock, which is taken
 * inside: nothing here sleeps under it).
 */
#if defined(VR_HAVE_DEVICE_SET_DRIVER_OVERRIDE)
static inline int vr_override_set(struct device *dev, const char *name)
{
	return device_set_driver_override(dev, name ? name : "");
}

static inline size_t vr_override_copy(struct device *dev, char *buf,
				      size_t size)
{
	size_t len = 0;

	spin_lock(&dev->driver_override.lock);
	if (dev->driver_override.name)
		len = strlen(dev->driver_override.name);
	if (size)
		strscpy(buf, len ? dev->driver_override.name : "", size);
	spin_unlock(&dev->driver_override.lock);
	return len;
}
#elif defined(VR_HAVE_PCI_DRIVER_OVERRIDE)
static inline int vr_override_set(struct device *dev, const char *name)
{
	return driver_set_override(dev, &to_pci_dev(dev)->driver_override,
				   name ? name : "", name ? strlen(name) : 0);
}

static inline size_t vr_override_copy(struct device *dev, char *buf,
				      size_t size)
{
	const char *name = to_pci_dev(dev)->driver_override;

	if (size)
		strscpy(buf, name ? name : "", size);
	return name ? strlen(name) : 0;
}
#else
#error "no device_set_driver_override() and no pci_dev->driver_override: port vfio_reserve"
#endif

/*
 * vr_override_peek(dev, buf, size): vr_override_copy() for a reader that
 * must not wait for the device lock (a netlink handler: see netlink.c).
 * Return: 0, or -EBUSY (buf "") when the override cannot be read now.
 * With the override's own spinlock that never happens. Before it, the
 * device lock is needed, and a device a probe or an unbind holds reads as
 * busy after about 20 ms of trying.
 */
#if defined(VR_HAVE_DEVICE_SET_DRIVER_OVERRIDE)
static inline int vr_override_peek(struct device *dev, char *buf, size_t size)
{
	vr_override_copy(dev, buf, size);
	return 0;
}
#else
#include <linux/delay.h>

static inline int vr_override_peek(struct device *dev, char *buf, size_t size)
{
	int tries;

	for (tries = 0; !device_trylock(dev); tries++) {
		if (tries == 20) {
			buf[0] = '\0';
			return -EBUSY;
		}
		usleep_range(1000, 2000);
	}
	vr_override_copy(dev, buf, size);
	device_unlock(dev);
	return 0;
}
#endif

/*
 * vr_override_dup(dev): a copy of the override (NULL when none, or
 * ERR_PTR(-ENOMEM)), allocated outside any lock. Caller holds the device
 * lock, as for vr_override_copy().
 */
static inline char *vr_override_dup(struct device *dev)
{
	size_t len = vr_override_copy(dev, NULL, 0);
	char *s;

	for (;;) {
		if (!len)
			return NULL;
		s = kmalloc(len + 1, GFP_KERNEL);
		if (!s)
			return ERR_PTR(-ENOMEM);
		/* The override may change between two reads: read until it fits. */
		if (vr_override_copy(dev, s, len + 1) <= len)
			return s;
		len = vr_override_copy(dev, NULL, 0);
		kfree(s);
	}
}

/*
 * Interrupt isolation of a device: irq_domain_check_msi_remap() became per
 * device, msi_device_has_isolated_msi(), in 6.3, when IOMMU_CAP_INTR_REMAP
 * was removed ("iommu: Remove IOMMU_CAP_INTR_REMAP").
 */
#ifdef VR_HAVE_MSI_DEVICE_HAS_ISOLATED_MSI
#include <linux/msi.h>
#else
#include <linux/irqdomain.h>
#endif
static inline bool vr_msi_isolated(struct device *dev)
{
#ifdef VR_HAVE_MSI_DEVICE_HAS_ISOLATED_MSI
	return msi_device_has_isolated_msi(dev);
#else
	return irq_domain_check_msi_remap();
#endif
}

static inline bool vr_iommu_intr_remap(struct device *dev)
{
#ifdef VR_HAVE_IOMMU_CAP_INTR_REMAP
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
#else
	return false;
#endif
}

/*
 * Isolated MSI of a whole IOMMU group, which iommufd requires of a bind:
 * iommu_group_has_isolated_msi() (6.3 on, with msi_device_has_isolated_msi()).
 * Before, every member's interrupt isolation, as vfio's type1 decided it.
 */
#ifdef VR_HAVE_IOMMU_GROUP_HAS_ISOLATED_MSI
static inline bool vr_group_msi_isolated(struct iommu_group *group)
{
	return iommu_group_has_isolated_msi(group);
}
#else
static inline int vr_member_msi_isolated(struct device *dev, void *data)
{
	if (!vr_msi_isolated(dev) && !vr_iommu_intr_remap(dev))
		*(bool *)data = false;
	return 0;
}

static inline bool vr_group_msi_isolated(struct iommu_group *group)
{
	bool all = true;

	iommu_group_for_each_dev(group, &all, vr_member_msi_isolated);
	return all;
}
#endif

/*
 * Is a VFIO device open? @vfio_dev is the struct device that a VFIO driver
 * registered (class "vfio-dev", a child of the PCI function; 6.1 on).
 * struct vfio_device counts in refcount its registration (1) and every
 * open file: its cdev, bound to an iommufd or not yet, or a device fd
 * taken from its group (vfio_device_try_get_registration()). No function
 * tells, so the member is read; a kernel without it is refused here
 * rather than guessed about, since release relies on the answer.
 */
#include <linux/vfio.h>
#ifndef VR_HAVE_VFIO_DEVICE_REFCOUNT
#error "no refcount in struct vfio_device: port vr_vfio_open() of vfio_reserve"
#endif
static inline bool vr_vfio_open(struct device *vfio_dev)
{
	struct vfio_device *vdev = container_of(vfio_dev, struct vfio_device,
						device);

	return refcount_read(&vdev->refcount) > 1;
}

/*
 * Typed allocations, "slab: Introduce kmalloc_obj() and family" (7.0): the
 * newest checkpatch asks for them; older kernels get the same from here.
 */
#ifndef kmalloc_obj
#define kmalloc_obj(VAR, GFP)	kmalloc(sizeof(VAR), GFP)
#define kzalloc_obj(VAR, GFP)	kzalloc(sizeof(VAR), GFP)
#endif

#endif /* VR_COMPAT_H */
