// Follow a job by polling /api/tasks/{id} until it ends (completed, failed or cancelled).
import { useEffect, useRef, useState } from "react";
import { request } from "../api/client";

export interface JobState {
  id: string; status: string; percentage: number; stage: string | null; message: string | null;
  eta_seconds: number | null; error?: { code?: string; message?: string } | null; metrics?: Record<string, unknown> | null;
}

export const FINAL = ["completed", "failed", "cancelled"];

export function useJob(jobId: string | null | undefined, onEnd?: (job: JobState) => void, every = 1000): { job?: JobState; error: unknown } {
  const [job, setJob] = useState<JobState>();
  const [error, setError] = useState<unknown>();
  const end = useRef(onEnd);
  end.current = onEnd;
  useEffect(() => {
    setJob(undefined);
    setError(undefined);
    if (!jobId) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const j = await request<JobState>(`/api/tasks/${jobId}`);
        if (!live) return;
        setJob(j);
        if (FINAL.includes(j.status)) { end.current?.(j); return; }
      } catch (e) {
        if (!live) return;
        setError(e);
      }
      timer = setTimeout(() => void poll(), every);
    };
    void poll();
    return () => { live = false; if (timer) clearTimeout(timer); };
  }, [jobId, every]);
  return { job, error };
}
