using Datapath.Drivers.Vfio;

namespace Datapath.Tests.Drivers.Vfio;

/// <summary>What a user sees on a machine that is not ready for VFIO: one line, with the fix.</summary>
public class VfioErrorTests
{
    [Fact]
    public void No_vfio_device_node_names_the_module_to_load()
    {
        if (File.Exists(VfioContainer.Path)) return;   // this machine has VFIO: the guest tests cover it
        var e = Assert.Throws<VfioException>(() => new VfioContainer());
        Assert.StartsWith("no /dev/vfio/vfio: load VFIO (modprobe vfio-pci)", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
