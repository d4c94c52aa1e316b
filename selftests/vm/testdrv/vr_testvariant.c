// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * A VFIO variant driver for the VM tests only: vfio-pci-core with nothing
 * added, as an in-tree variant (mlx5_vfio_pci, virtio_vfio_pci, ...) is
 * built, for QEMU's e1000e (8086:10d3) and its NVMe VFs (1b36:0010), which
 * no real variant drives. Its ids are override-only
 * (PCI_DRIVER_OVERRIDE_DEVICE_VFIO): it binds a device only when the
 * device's driver_override names it, and depmod lists them in modules.alias
 * as "vfio_pci:" aliases, which is how a variant is chosen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define dev_fmt(fmt) pr_fmt(fmt)

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

static int vv_open_device(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev =
		container_of(core_vdev, struct vfio_pci_core_device, vdev);
	int ret;

	ret = vfio_pci_core_enable(vdev);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(vdev);
	return 0;
}

static const struct vfio_device_ops vv_ops = {
	.name = "vr-testvariant",
	.init = vfio_pci_core_init_dev,
	.release = vfio_pci_core_release_dev,
	.open_device = vv_open_device,
	.close_device = vfio_pci_core_close_device,
	.ioctl = vfio_pci_core_ioctl,
#ifdef VV_HAVE_GET_REGION_INFO_CAPS
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
#endif
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = vfio_pci_core_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
#ifdef VV_HAVE_MATCH_TOKEN_UUID
	/* vfio_pci_core_match() calls it unchecked (7.x): a NULL oops */
	.match_token_uuid = vfio_pci_core_match_token_uuid,
#endif
#ifdef VV_HAVE_IOMMUFD_PHYSICAL
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
#endif
#ifdef VV_HAVE_DETACH_IOAS
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
#endif
};

static int vv_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vfio_pci_core_device *vdev;
	int ret;

	vdev = vfio_alloc_device(vfio_pci_core_device, vdev, &pdev->dev,
				 &vv_ops);
	if (IS_ERR(vdev))
		return PTR_ERR(vdev);
	dev_set_drvdata(&pdev->dev, vdev);
	ret = vfio_pci_core_register_device(vdev);
	if (ret) {
		vfio_put_device(&vdev->vdev);
		return ret;
	}
	pci_info(pdev, "bound\n");
	return 0;
}

static void vv_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(vdev);
	vfio_put_device(&vdev->vdev);
}

static const struct pci_device_id vv_ids[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_VENDOR_ID_INTEL, 0x10d3) },
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_VENDOR_ID_REDHAT, 0x0010) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vv_ids);

static struct pci_driver vv_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vv_ids,
	.probe = vv_probe,
	.remove = vv_remove,
	.err_handler = &vfio_pci_core_err_handlers,
	.driver_managed_dma = true,
};
module_pci_driver(vv_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-reserve tests: a VFIO variant driver for QEMU's e1000e and NVMe VFs");
MODULE_AUTHOR("The vfio-reserve authors");
