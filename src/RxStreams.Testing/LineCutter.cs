using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace RxStreams.Testing;

/// <summary>Re-cuts recorded sends into lines, each stamped with the tick of the send that completed it.</summary>
internal static class LineCutter
{
    public static IList<Recorded<Notification<string>>> Cut(IEnumerable<Recorded<Notification<byte[]>>> sends)
    {
        var lines = new List<Recorded<Notification<string>>>();
        var pending = new List<byte>();
        foreach (var send in sends)
        {
            if (send.Value.Kind == NotificationKind.OnNext)
            {
                foreach (byte b in send.Value.Value)
                {
                    if (b == (byte)'\n')
                    {
                        lines.Add(Line(send.Time, pending));
                    }
                    else
                    {
                        pending.Add(b);
                    }
                }

                continue;
            }

            if (pending.Count > 0)
            {
                lines.Add(Line(send.Time, pending));
            }

            lines.Add(send.Value.Kind == NotificationKind.OnError
                ? new Recorded<Notification<string>>(send.Time, Notification.CreateOnError<string>(send.Value.Exception!))
                : new Recorded<Notification<string>>(send.Time, Notification.CreateOnCompleted<string>()));
        }

        return lines;
    }

    private static Recorded<Notification<string>> Line(long time, List<byte> pending)
    {
        int length = pending.Count > 0 && pending[^1] == (byte)'\r' ? pending.Count - 1 : pending.Count;
        var text = Encoding.UTF8.GetString(pending.GetRange(0, length).ToArray());
        pending.Clear();
        return new Recorded<Notification<string>>(time, Notification.CreateOnNext(text));
    }
}
