using System.Collections.Concurrent;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

[assembly: RxStreams.Tests.FailOnUnobservedTaskExceptions]

namespace RxStreams.Tests;

/// <summary>
/// Fails a test if a task exception went unobserved while it ran: the library fires and forgets its send loops, accept
/// loops, read loops and handler runs, so each must observe its own failures (issue 7).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class FailOnUnobservedTaskExceptionsAttribute : Attribute, ITestAction
{
    private static readonly ConcurrentQueue<Exception> Unobserved = new();

    static FailOnUnobservedTaskExceptionsAttribute() =>
        TaskScheduler.UnobservedTaskException += static (_, e) => Unobserved.Enqueue(e.Exception);

    public ActionTargets Targets => ActionTargets.Test;

    public void BeforeTest(ITest test)
    {
    }

    public void AfterTest(ITest test)
    {
        // Unobserved exceptions are reported when their tasks are finalized.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var found = new List<Exception>();
        while (Unobserved.TryDequeue(out var error))
        {
            found.Add(error);
        }

        if (found.Count > 0)
        {
            throw new AssertionException("unobserved task exceptions during (or just before) this test:\n" + string.Join("\n---\n", found));
        }
    }
}
