// qmp-blockjob/testing: what tests of QEMU block jobs need around the library — start a
// qemu-system or qemu-storage-daemon with a monitor socket, build and check images.
export { ProcessError } from './transport/process.js';
export { QemuProcess, qemuVersionLine, type QemuLaunchOptions, type QemuExit } from './transport/qemu-process.js';
export {
  ImageToolError,
  createImage,
  qemuIo,
  compareImages,
  imageChain,
  convertImage,
  type CreateImageOptions,
  type QemuIoOptions,
  type ImageInfoJson,
} from './transport/qemu-img.js';
