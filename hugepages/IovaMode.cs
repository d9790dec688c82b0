namespace Datapath.Hugepages;

/// <summary>
/// How a device sees our memory. <see cref="Va"/>: IOVA = virtual address (an IOMMU maps it, or a
/// vhost-user peer maps our fds). <see cref="Pa"/>: IOVA = physical address from /proc/self/pagemap
/// (vfio-noiommu, no translation between the device and RAM).
/// </summary>
public enum IovaMode
{
    Va,
    Pa,
}
