using Datapath.Drivers.Virtio;
using Datapath.Engine.Net;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>What a net_vhost port offers its front-end.</summary>
public sealed record VhostBackendConfig
{
    public required string Iface { get; init; }
    public int QueuePairs { get; init; } = 1;
    public MacAddress Mac { get; init; }
    public bool IommuSupport { get; init; }
    public int MaxMemSlots { get; init; } = 32;

    /// <summary>Virtio features a front-end may ack (vhost-user.rst: the back-end's GET_FEATURES).</summary>
    public ulong Features =>
        VirtioFeatures.Version1 | VirtioFeatures.RingPacked | VirtioFeatures.NetMrgRxbuf | VirtioFeatures.EventIdx | VirtioFeatures.IndirectDesc
        | VirtioFeatures.InOrder | VirtioFeatures.NetMq | VirtioFeatures.NetCtrlVq | VirtioFeatures.NetMtu
        | VirtioFeatures.NetCsum | VirtioFeatures.NetGuestCsum | VirtioFeatures.NetGuestAnnounce | VirtioFeatures.NetStatus
        | VhostFeatureBits.AnyLayout | VhostFeatureBits.LogAll | VhostUserFeatureBits.ProtocolFeatures
        | (IommuSupport ? VirtioFeatures.AccessPlatform : 0);

    public VhostUserProtocolFeatures ProtocolFeatures =>
        VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.LogShmfd
        | VhostUserProtocolFeatures.Rarp | VhostUserProtocolFeatures.NetMtu | VhostUserProtocolFeatures.Config
        | VhostUserProtocolFeatures.ConfigureMemSlots | VhostUserProtocolFeatures.Status
        | (IommuSupport ? VhostUserProtocolFeatures.BackendReq : 0);

    public int Vrings => QueuePairs * 2;
}

/// <summary>Transport feature bits the virtio constants leave to vhost (virtio 1.2 §6 legacy bits, vhost.h).</summary>
public static class VhostFeatureBits
{
    /// <summary>VHOST_F_LOG_ALL: log every write, for live migration.</summary>
    public const ulong LogAll = 1UL << 26;
    /// <summary>VIRTIO_F_ANY_LAYOUT: the header need not be alone in its descriptor (implied by VERSION_1).</summary>
    public const ulong AnyLayout = 1UL << 27;
}
