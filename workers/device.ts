/**
 * Worker entry: one simulated device per thread. piscina calls the default export with a task;
 * everything the device does lives in src/cluster/device-step.ts.
 */
import { runDeviceTask } from '../src/cluster/device-step.js';

export default runDeviceTask;
