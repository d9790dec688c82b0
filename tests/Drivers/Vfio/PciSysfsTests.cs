using Datapath.Drivers.Vfio;

namespace Datapath.Tests.Drivers.Vfio;

/// <summary>
/// Group viability from a fake sysfs tree: /sys/bus/pci/devices/BDF/{driver,iommu_group} links and
/// /sys/kernel/iommu_groups/N/devices, as the kernel lays them out.
/// </summary>
public sealed class PciSysfsTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("dp-sysfs-").FullName;

    void AddDevice(string bdf, int group, string? driver, ushort vendor = 0x1af4, ushort device = 0x1041)
    {
        string dev = Path.Combine(_root, "bus/pci/devices", bdf);
        Directory.CreateDirectory(dev);
        File.WriteAllText(Path.Combine(dev, "vendor"), $"0x{vendor:x4}\n");
        File.WriteAllText(Path.Combine(dev, "device"), $"0x{device:x4}\n");
        string groupDir = Path.Combine(_root, "kernel/iommu_groups", group.ToString(), "devices");
        Directory.CreateDirectory(groupDir);
        File.CreateSymbolicLink(Path.Combine(groupDir, bdf), dev);
        File.CreateSymbolicLink(Path.Combine(dev, "iommu_group"), $"../../../../kernel/iommu_groups/{group}");
        if (driver is not null)
        {
            string drv = Path.Combine(_root, "bus/pci/drivers", driver);
            Directory.CreateDirectory(drv);
            File.CreateSymbolicLink(Path.Combine(dev, "driver"), $"../../../../bus/pci/drivers/{driver}");
        }
    }

    [Fact]
    public void Reads_driver_group_and_ids()
    {
        AddDevice("0000:00:04.0", 7, "vfio-pci");
        var sysfs = new PciSysfs(_root);
        var a = PciAddress.Parse("0000:00:04.0");
        Assert.Equal("vfio-pci", sysfs.Driver(a));
        Assert.Equal(7, sysfs.IommuGroup(a));
        Assert.Equal((ushort)0x1af4, sysfs.Vendor(a));
        Assert.Equal((ushort)0x1041, sysfs.DeviceId(a));
        Assert.Null(sysfs.ViabilityProblem(7));
    }

    [Fact]
    public void A_group_with_a_device_on_another_driver_is_not_viable_and_each_is_named()
    {
        AddDevice("0000:00:04.0", 3, "vfio-pci");
        AddDevice("0000:00:05.0", 3, "virtio-pci");
        AddDevice("0000:00:05.1", 3, "e1000e");
        AddDevice("0000:00:06.0", 3, null);   // no driver: harmless to VFIO
        string? problem = new PciSysfs(_root).ViabilityProblem(3);
        Assert.NotNull(problem);
        Assert.Contains("group 3", problem);
        Assert.Contains("0000:00:05.0 is bound to virtio-pci", problem);
        Assert.Contains("0000:00:05.1 is bound to e1000e", problem);
        Assert.DoesNotContain("00:06.0", problem);
        Assert.DoesNotContain("\n", problem);
    }

    [Fact]
    public void A_device_without_driver_or_group_reads_as_null()
    {
        Directory.CreateDirectory(Path.Combine(_root, "bus/pci/devices/0000:00:09.0"));
        var sysfs = new PciSysfs(_root);
        var a = PciAddress.Parse("0000:00:09.0");
        Assert.True(sysfs.Exists(a));
        Assert.Null(sysfs.Driver(a));
        Assert.Null(sysfs.IommuGroup(a));
        Assert.False(sysfs.Exists(PciAddress.Parse("00:0a.0")));
    }

    [Fact]
    public void Opening_a_device_bound_elsewhere_names_the_bind_fix()
    {
        AddDevice("0000:00:04.0", 1, "virtio-pci");
        var e = Assert.Throws<VfioException>(() => VfioGroup.Open(PciAddress.Parse("0000:00:04.0"), null!, new PciSysfs(_root)));
        Assert.Equal("0000:00:04.0 is bound to virtio-pci, not vfio-pci: ./run.sh bind 0000:00:04.0 vfio-pci", e.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
