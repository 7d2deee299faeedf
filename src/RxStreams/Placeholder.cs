namespace RxStreams;
/// <summary>Placeholder.</summary>
public static class Placeholder { }
