using Datapath.Tests.Support;
using Xunit.Abstractions;

namespace Datapath.Tests.Guest;

/// <summary>
/// In a guest with a real virtio-net-pci NIC: each way VFIO can be not ready gives one line with the
/// fix, and `./run.sh bind` binds the NIC to vfio-pci on a real sysfs.
/// </summary>
[Collection(GuestCollection.Name)]
public sealed class VfioErrorGuestTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachMissingStepIsOneLineWithTheFix(bool noIommu)
    {
        if (noIommu) GuestImage.Get(noIommu: true);
        var result = QemuGuest.Run(new GuestOptions
        {
            Script = Path.Combine(GuestImage.ScriptsDir, "vfio-errors.sh"),
            Nic = GuestNic.Plain,
            Iommu = !noIommu,
            VfioNoIommu = noIommu,
            MemoryMiB = 1024,
            Env = new Dictionary<string, string>
            {
                ["VFIO_MODE"] = noIommu ? "noiommu" : "iommu",
                ["DATAPATH_DLL"] = RepoPaths.DatapathDll,
            },
            Timeout = TimeSpan.FromSeconds(300),
        });
        log.WriteLine(result.Describe(40));
        Assert.True(result.ExitCode == 0, result.Describe());
        var e = result.Values("errors");
        Assert.StartsWith("datapath: error: ", e["no_vfio"]);
        Assert.Contains("no /dev/vfio/vfio: load VFIO (modprobe vfio-pci)", e["no_vfio"]);
        Assert.Contains("is bound to virtio-pci, not vfio-pci: ./run.sh bind", e["not_bound"]);
        Assert.Equal("0", e["bind_rc"]);
        Assert.Equal("vfio-pci", e["driver"]);
        Assert.Matches(@"1af4:10(00|41)\s+vfio-pci", result.Files["status"]);
        if (noIommu)
        {
            Assert.Contains("vfio-noiommu gives the device physical addresses: add --iova-mode pa", e["va_with_noiommu"]);
            Assert.Contains("vfio-noiommu needs hugepages", e["nohuge_with_noiommu"]);
        }
        else
        {
            Assert.Contains("with an IOMMU the engine maps IOVA = VA: use --iova-mode va", e["pa_with_iommu"]);
        }
    }
}
