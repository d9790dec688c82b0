using System.Buffers.Binary;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Net;

namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// struct virtio_net_config (virtio 1.2 §5.1.4) as read from the device: each field only when its
/// feature was negotiated, and values checked (an MTU below 68, a multicast MAC, or a
/// max_virtqueue_pairs outside 1..0x8000 is ignored).
/// </summary>
public readonly record struct VirtioNetConfig(MacAddress? Mac, bool LinkUp, int? Mtu, int? MaxVirtqueuePairs = null)
{
    public const int MacOffset = 0, StatusOffset = 6, MaxPairsOffset = 8, MtuOffset = 10, Size = 12;
    /// <summary>§5.1.4.1: max_virtqueue_pairs lies between VQ_PAIRS_MIN (1) and VQ_PAIRS_MAX (0x8000).</summary>
    public const int MaxPairsLimit = 0x8000;
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
        int? pairs = null;
        if (VirtioFeatures.Has(features, VirtioFeatures.NetMq) && config.Length >= 10)
        {
            int v = BinaryPrimitives.ReadUInt16LittleEndian(config[MaxPairsOffset..]);
            if (v is >= 1 and <= MaxPairsLimit) pairs = v;
        }
        return new VirtioNetConfig(mac, up, mtu, pairs);
    }
}
