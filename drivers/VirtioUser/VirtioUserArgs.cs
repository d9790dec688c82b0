using Datapath.Drivers.Virtio;
using Datapath.Engine.Net;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The device args of net_virtio_user, named as DPDK's (doc/guides/howto/virtio_user_for_container_networking.rst):
/// `net_virtio_user0,path=/tmp/vhost.sock,queues=2,queue_size=256,server=1,mac=..,mrg_rxbuf=1,in_order=1,packed_vq=0,cq=0`.
/// </summary>
public sealed record VirtioUserArgs
{
    public const int MaxQueuePairs = 16;
    public const int DefaultQueueSize = 256;

    public static readonly string[] Keys = ["path", "queues", "queue_size", "server", "mac", "mrg_rxbuf", "in_order", "packed_vq", "cq"];
    public const string Usage = "net_virtio_userN,path=/tmp/sock[,queues=1][,queue_size=256][,server=0|1][,mac=xx:..][,mrg_rxbuf=1][,in_order=1][,packed_vq=0][,cq=0]";

    public required string Path { get; init; }
    public int QueuePairs { get; init; } = 1;
    public int QueueSize { get; init; } = DefaultQueueSize;
    /// <summary>server=1: we listen on <see cref="Path"/> and the backend connects (and reconnects after a restart).</summary>
    public bool Server { get; init; }
    public MacAddress Mac { get; init; }
    public bool MergeableRx { get; init; } = true;
    public bool InOrder { get; init; } = true;
    /// <summary>cq=1, or implied by queues &gt; 1: a control virtqueue carries MQ_VQ_PAIRS_SET (virtio 1.2 §5.1.6.5.5).</summary>
    public bool ControlQueue { get; init; }

    /// <summary>packed_vq=1: ask for VIRTIO_F_RING_PACKED (virtio 1.2 §2.8); split rings if the backend does not offer it.</summary>
    public bool PackedRing { get; init; }

    public static VirtioUserArgs Parse(DeviceArgs args, MacAddress defaultMac)
    {
        int size = (int)args.GetInt("queue_size", DefaultQueueSize, 2, SplitRingLayout.MaxQueueSize);
        if (!SplitRingLayout.IsValidQueueSize(size))
            throw new DeviceArgsException($"{args.Name}: queue_size={size} must be a power of two (virtio 1.2 §2.7)");
        int queues = (int)args.GetInt("queues", 1, 1, MaxQueuePairs);
        return new VirtioUserArgs
        {
            Path = args.Require("path", "/tmp/vhost-user0.sock"),
            QueuePairs = queues,
            QueueSize = size,
            Server = args.GetBool("server", false),
            Mac = args.GetString("mac") is { } m ? MacAddress.Parse(m) : defaultMac,
            MergeableRx = args.GetBool("mrg_rxbuf", true),
            InOrder = args.GetBool("in_order", true),
            ControlQueue = args.GetBool("cq", false) || queues > 1,
            PackedRing = args.GetBool("packed_vq", false),
        };
    }

    /// <summary>The features we ask for (virtio 1.2 §6, §5.1.3); the backend's offer is intersected with these.</summary>
    public ulong WantedFeatures()
    {
        ulong f = VirtioFeatures.Version1;
        if (MergeableRx) f |= VirtioFeatures.NetMrgRxbuf;
        if (InOrder) f |= VirtioFeatures.InOrder;
        if (QueuePairs > 1) f |= VirtioFeatures.NetMq;
        if (PackedRing) f |= VirtioFeatures.RingPacked;
        return f;
    }
}
