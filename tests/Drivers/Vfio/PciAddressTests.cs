using Datapath.Drivers.Vfio;

namespace Datapath.Tests.Drivers.Vfio;

public class PciAddressTests
{
    [Theory]
    [InlineData("0000:00:04.0", "0000:00:04.0")]
    [InlineData("00:04.0", "0000:00:04.0")]
    [InlineData("0001:3b:1f.7", "0001:3b:1f.7")]
    public void Parses_dpdk_allow_list_syntax(string text, string canonical) =>
        Assert.Equal(canonical, PciAddress.Parse(text).ToString());

    [Theory]
    [InlineData("net_ring0")]
    [InlineData("0000:00:20.0")]   // device numbers stop at 0x1f
    [InlineData("0000:00:04.8")]   // functions stop at 7
    [InlineData("")]
    public void Refuses_what_is_not_a_pci_address(string text)
    {
        Assert.False(PciAddress.TryParse(text, out _));
        Assert.Contains("not a PCI address", Assert.Throws<VfioException>(() => PciAddress.Parse(text)).Message);
    }
}
