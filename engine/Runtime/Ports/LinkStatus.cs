namespace Datapath.Engine.Ports;

/// <summary>rte_eth_link: up or down, speed in Mbps, duplex.</summary>
public readonly record struct LinkStatus(bool Up, uint SpeedMbps = 10000, bool FullDuplex = true)
{
    public static LinkStatus Down => new(false, 0);
    public override string ToString() => Up ? $"up, {SpeedMbps} Mbps, {(FullDuplex ? "full" : "half")}-duplex" : "down";
}
