import XCTest

final class CaseStoreSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
