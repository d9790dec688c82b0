namespace Datapath.Engine.Ports;

public enum PortState
{
    Created,
    Configured,
    Started,
    Stopped,
    Closed,
}
