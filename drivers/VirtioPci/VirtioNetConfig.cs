using System.Buffers.Binary;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Net;

namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// struct virtio_net_config (virtio 1.2 §5.1.4) as read from the device: each field only when its
/// feature was negotiated, and values checked (an MTU below 68 or a multicast MAC is ignored).
/// </summary>
public readonly record struct VirtioNetConfig(MacAddress? Mac, bool LinkUp, int? Mtu)
{
    public const int MacOffset = 0, StatusOffset = 6, MtuOffset = 10, Size = 12;
    public const ushort StatusLinkUp = 1;

    public static VirtioNetConfig Parse(ReadOnlySpan<byte> config, ulong features)
    {
        MacAddress? mac = null;
        if (VirtioFeatures.Has(features, VirtioFeatures.NetMac) && config.Length >= 6)
        {
            var m = new MacAddress(config[..6]);
            if (!m.IsMulticast && m.ToUInt64() != 0) mac = m;
        }
        // §5.1.4.2: without VIRTIO_NET_F_STATUS the link is assumed up.
        bool up = !VirtioFeatures.Has(features, VirtioFeatures.NetStatus)
            || config.Length >= 8 && (BinaryPrimitives.ReadUInt16LittleEndian(config[StatusOffset..]) & StatusLinkUp) != 0;
        int? mtu = null;
        if (VirtioFeatures.Has(features, VirtioFeatures.NetMtu) && config.Length >= 12)
        {
            int v = BinaryPrimitives.ReadUInt16LittleEndian(config[MtuOffset..]);
            if (v >= 68) mtu = v;
        }
        return new VirtioNetConfig(mac, up, mtu);
    }
}
