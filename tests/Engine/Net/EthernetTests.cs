using Datapath.Engine.Net;

namespace Datapath.Tests.Engine.Net;

public unsafe class EthernetTests
{
    [Fact]
    public void SwapAddresses_exchanges_the_two_addresses_and_keeps_the_ethertype()
    {
        byte[] f = Frames.Ethernet(MacAddress.Parse("01:02:03:04:05:06"), MacAddress.Parse("a1:a2:a3:a4:a5:a6"), 0x0806, [0xEE]);
        fixed (byte* p = f) Ethernet.SwapAddresses(p);
        Assert.Equal(new byte[] { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 1, 2, 3, 4, 5, 6, 0x08, 0x06, 0xEE }, f);
    }
}
