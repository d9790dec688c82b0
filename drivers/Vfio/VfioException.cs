namespace Datapath.Drivers.Vfio;

/// <summary>A VFIO setup failure a user can fix; the message is one line naming the thing and the fix.</summary>
public sealed class VfioException(string message) : Exception(message);
